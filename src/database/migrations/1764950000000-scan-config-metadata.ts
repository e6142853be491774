import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What an admin sees of a scan config without its content (GET /rest/applications/{id}/scan-configs):
 * the uploaded file's name, size and SHA-256, when it was first set, and the API key that set it
 * last. Rows from before keep a null name and uploader; size and hash are computed from the content.
 */
export class ScanConfigMetadata1764950000000 implements MigrationInterface {
  name = 'ScanConfigMetadata1764950000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE scan_configs
        ADD COLUMN original_filename varchar(255),
        ADD COLUMN size_bytes int,
        ADD COLUMN sha256 char(64),
        ADD COLUMN created_at timestamptz,
        ADD COLUMN uploaded_by_api_key_id int,
        ADD CONSTRAINT scan_configs_uploaded_by_api_key_id_fkey
          FOREIGN KEY (uploaded_by_api_key_id) REFERENCES api_keys (id)`);
    await q.query(`
      UPDATE scan_configs
      SET size_bytes = octet_length(content), sha256 = encode(sha256(content), 'hex'),
          created_at = uploaded_at`);
    await q.query(`
      ALTER TABLE scan_configs
        ALTER COLUMN size_bytes SET NOT NULL,
        ALTER COLUMN sha256 SET NOT NULL,
        ALTER COLUMN created_at SET NOT NULL,
        ALTER COLUMN created_at SET DEFAULT now()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE scan_configs
        DROP COLUMN uploaded_by_api_key_id,
        DROP COLUMN created_at,
        DROP COLUMN sha256,
        DROP COLUMN size_bytes,
        DROP COLUMN original_filename`);
  }
}
