import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { Permission } from './permission';

@Entity({ name: 'api_keys' })
@Unique('api_keys_key_hash_key', ['keyHash'])
export class ApiKeyEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  /** SHA-256 (hex) of the key; the plaintext is shown once, on creation, and never stored. */
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  permissions!: Permission[];

  /** ThreadFix's "restricted" key: refused on every operation flagged restricted. */
  @Column({ type: 'boolean', default: false })
  restricted!: boolean;

  /**
   * The teams whose applications this key reaches; null = every team. Ids only (no foreign key):
   * auth sits below teams in the module graph, and a deleted team's id is never reused.
   */
  @Column({ name: 'team_ids', type: 'int', array: true, nullable: true })
  teamIds!: number[] | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
