import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scan imports (issue 7): one import run per stored scan, the scan's normalized findings, and the
 * application's vulnerabilities merged from them. Indexes name the query they serve.
 */
export class ScanImports1764900000000 implements MigrationInterface {
  name = 'ScanImports1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE scan_imports (
        id serial PRIMARY KEY,
        scan_id int NOT NULL,
        application_id int NOT NULL,
        scanner varchar(32) NOT NULL,
        phase varchar(16) NOT NULL DEFAULT 'queued',
        attempts int NOT NULL DEFAULT 0,
        findings_count int NOT NULL DEFAULT 0,
        new_count int NOT NULL DEFAULT 0,
        still_present_count int NOT NULL DEFAULT 0,
        reopened_count int NOT NULL DEFAULT 0,
        fixed_count int NOT NULL DEFAULT 0,
        duplicate_of_scan_id int,
        error text,
        owner_instance varchar(64),
        heartbeat_at timestamptz,
        queued_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        CONSTRAINT scan_imports_scan_id_key UNIQUE (scan_id),
        CONSTRAINT scan_imports_phase_check CHECK (phase IN ('queued', 'parsing', 'merging', 'done', 'failed')),
        CONSTRAINT scan_imports_scan_id_fkey FOREIGN KEY (scan_id) REFERENCES scans (id) ON DELETE CASCADE,
        CONSTRAINT scan_imports_application_id_fkey FOREIGN KEY (application_id) REFERENCES applications (id)
      )`);
    // The claim (scan-imports.repository.ts claimNextImport): the oldest unfinished import of an
    // application, and "no older unfinished import of the same application". Finished rows drop out.
    await q.query(
      `CREATE INDEX scan_imports_unfinished_idx ON scan_imports (application_id, scan_id) WHERE phase IN ('queued', 'parsing', 'merging')`,
    );
    // The merge's duplicate check (scan-imports.repository.ts previousMergedScans): the newest merged
    // scans of an application and scanner.
    await q.query(
      `CREATE INDEX scan_imports_merged_idx ON scan_imports (application_id, scanner, scan_id) WHERE phase = 'done'`,
    );
    await q.query(`
      CREATE TABLE findings (
        id bigserial PRIMARY KEY,
        scan_id int NOT NULL,
        scanner varchar(32) NOT NULL,
        rule_id text NOT NULL,
        name text NOT NULL,
        severity varchar(8) NOT NULL,
        cwe int,
        url text,
        path text,
        parameter text,
        evidence text,
        fingerprint char(64) NOT NULL,
        CONSTRAINT findings_severity_check CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
        CONSTRAINT findings_scan_id_fkey FOREIGN KEY (scan_id) REFERENCES scans (id) ON DELETE CASCADE
      )`);
    // A scan's findings page (WHERE scan_id ORDER BY id) and the merge's findings of one scan.
    await q.query(`CREATE INDEX findings_scan_id_id_idx ON findings (scan_id, id)`);
    // The merge's "fixed" step: is an open vulnerability's fingerprint among the scan's findings?
    await q.query(
      `CREATE INDEX findings_scan_id_fingerprint_idx ON findings (scan_id, fingerprint)`,
    );
    await q.query(`
      CREATE TABLE vulnerabilities (
        id serial PRIMARY KEY,
        application_id int NOT NULL,
        scanner varchar(32) NOT NULL,
        fingerprint char(64) NOT NULL,
        status varchar(8) NOT NULL,
        rule_id text NOT NULL,
        name text NOT NULL,
        severity varchar(8) NOT NULL,
        cwe int,
        url text,
        path text,
        parameter text,
        evidence text,
        -- No foreign keys on the scan ids: the merge writes them for the scan it merges, and the
        -- per-row FK triggers took half of a 90,000-vulnerability merge's time.
        first_seen_scan_id int NOT NULL,
        first_seen_at timestamptz NOT NULL,
        last_seen_scan_id int NOT NULL,
        last_seen_at timestamptz NOT NULL,
        fixed_scan_id int,
        fixed_at timestamptz,
        reopened_count int NOT NULL DEFAULT 0,
        -- The merge's upsert (ON CONFLICT) and, by its (application_id, scanner) prefix, the merge's
        -- "fixed" update of the open vulnerabilities of one application and scanner.
        CONSTRAINT vulnerabilities_application_scanner_fingerprint_key UNIQUE (application_id, scanner, fingerprint),
        CONSTRAINT vulnerabilities_severity_check CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
        CONSTRAINT vulnerabilities_status_check CHECK (status IN ('open', 'fixed')),
        CONSTRAINT vulnerabilities_application_id_fkey FOREIGN KEY (application_id) REFERENCES applications (id)
      )`);
    // Scans stored before this migration are imported too, oldest first (scans store the
    // scanner's display name; imports use its short name, as scanner-types.ts maps them).
    await q.query(`
      INSERT INTO scan_imports (scan_id, application_id, scanner)
      SELECT id, application_id, CASE scanner
               WHEN 'Acunetix WVS' THEN 'acunetix'
               WHEN 'AppSpider' THEN 'spider'
               WHEN 'Burp Suite Pro' THEN 'burp'
               WHEN 'IBM Security AppScan Standard' THEN 'appscan'
               WHEN 'OWASP Zed Attack Proxy' THEN 'zap'
               WHEN 'WebInspect' THEN 'webinspect'
               ELSE left(scanner, 32) END
      FROM scans ORDER BY id`);
    // An application's vulnerability list and its counts by severity (status and severity filters).
    await q.query(
      `CREATE INDEX vulnerabilities_application_id_status_severity_idx ON vulnerabilities (application_id, status, severity)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE vulnerabilities`);
    await q.query(`DROP TABLE findings`);
    await q.query(`DROP TABLE scan_imports`);
  }
}
