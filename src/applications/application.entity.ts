import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

// Case-insensitive unique name: an expression index written in the migration, which TypeORM must not touch.
@Index('applications_lower_name_key', { synchronize: false })
@Entity({ name: 'applications' })
export class ApplicationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Unique regardless of case (index on lower(name) in the migration). */
  @Column({ type: 'varchar', length: 255 })
  name!: string;

  /** The web app to scan; a task's own target URL overrides it. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  url!: string | null;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
