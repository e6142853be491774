/**
 * The queue gauges' SQL, run at scrape time. Each is one statement answered from a partial index
 * of live tasks only (index-only scans), so a scrape costs the same however long the history is.
 * Finished tasks are not counted here: that would read the whole table (about 250 ms per million
 * tasks); their outcomes are counters instead (task-metrics.ts).
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TaskStatus } from './task-status';

export interface ScannerQueue {
  /** The tasks' scanner (display name, as tasks store it). */
  scanner: string;
  depth: number;
  oldestAgeSeconds: number;
}

@Injectable()
export class TaskMetricsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Queued tasks per scanner and the age of each queue's head (its lowest id: the next to be
   * claimed). `scanner = ANY($1)` lets scan_queue_tasks_claimable_idx (scanner, id) WHERE
   * status = 1 AND active serve the count by an index-only scan; the head's row is one lookup.
   */
  async queues(scanners: string[]): Promise<ScannerQueue[]> {
    const rows: { scanner: string; depth: number; oldest_age_seconds: number }[] =
      await this.dataSource.query(
        `SELECT q.scanner, q.depth, extract(epoch FROM now() - t.created_at)::float8 AS oldest_age_seconds
         FROM (
           SELECT scanner, count(*)::int AS depth, min(id) AS head_id
           FROM scan_queue_tasks
           WHERE status = ${TaskStatus.QUEUED} AND active AND scanner = ANY($1::text[])
           GROUP BY scanner
         ) q
         JOIN scan_queue_tasks t ON t.id = q.head_id`,
        [scanners],
      );
    return rows.map((row) => ({
      scanner: row.scanner,
      depth: row.depth,
      oldestAgeSeconds: Math.max(0, row.oldest_age_seconds),
    }));
  }

  /**
   * Live tasks by status: QUEUED from scan_queue_tasks_queued_idx (id) WHERE status = 1 AND active,
   * ASSIGNED from scan_queue_tasks_overdue_idx (timeout_time) WHERE status = 2.
   */
  async liveTaskCounts(): Promise<Map<TaskStatus, number>> {
    const rows: { status: TaskStatus; count: number }[] = await this.dataSource.query(
      `SELECT ${TaskStatus.QUEUED} AS status, count(*)::int AS count
       FROM scan_queue_tasks WHERE status = ${TaskStatus.QUEUED} AND active
       UNION ALL
       SELECT ${TaskStatus.ASSIGNED}, count(*)::int
       FROM scan_queue_tasks WHERE status = ${TaskStatus.ASSIGNED}`,
    );
    return new Map(rows.map((row) => [Number(row.status) as TaskStatus, row.count]));
  }
}
