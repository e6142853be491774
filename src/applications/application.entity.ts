import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { TeamEntity } from '../teams/team.entity';

// Case-insensitive unique name within a team: an expression index written in the migration, which
// TypeORM must not touch.
@Index('applications_team_lower_name_key', { synchronize: false })
@Entity({ name: 'applications' })
export class ApplicationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Unique in its team regardless of case (index on (team_id, lower(name)) in the migration). */
  @Column({ type: 'varchar', length: 255 })
  name!: string;

  /** The web app to scan; a task's own target URL overrides it. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  url!: string | null;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Column({ name: 'team_id', type: 'int' })
  teamId!: number;

  @ManyToOne(() => TeamEntity)
  @JoinColumn({ name: 'team_id', foreignKeyConstraintName: 'applications_team_id_fkey' })
  team?: TeamEntity;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
