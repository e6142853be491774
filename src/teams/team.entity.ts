import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';

/**
 * A team (ThreadFix's "organization"): every application belongs to one, and an API key can be
 * limited to a set of teams (docs/security.md). Deleting is soft, with ThreadFix's rename to
 * `deleted-{id}-{name}`, so a name is never reused by accident.
 */
// At most one default team: where scanqueue's own POST /rest/applications puts an application
// that names no team (a partial unique index written in the migration).
@Index('teams_one_default_key', { synchronize: false })
@Entity({ name: 'teams' })
@Unique('teams_name_key', ['name'])
export class TeamEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Unique and case-sensitive, inactive teams included (ThreadFix's rule); at most 59 characters. */
  @Column({ type: 'varchar', length: 60 })
  name!: string;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Column({ name: 'is_default', type: 'boolean', default: false })
  isDefault!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
