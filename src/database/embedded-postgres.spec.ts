import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { embeddedPostgresAccessProblem } from './embedded-postgres';

describe('embeddedPostgresAccessProblem', () => {
  let parent: string;
  beforeEach(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'embedded-pg-access-'));
  });
  afterEach(() => rm(parent, { recursive: true, force: true }));

  it('names the private folder the postgres user cannot enter (as root), else has nothing to say', async () => {
    const closed = path.join(parent, 'private');
    await mkdir(path.join(closed, 'project'), { recursive: true });
    await chmod(parent, 0o755);
    await chmod(closed, 0o700);
    const problem = embeddedPostgresAccessProblem([path.join(closed, 'project', '.data')]);
    if (userInfo().uid === 0) {
      expect(problem).toContain(`cannot enter ${closed} `);
      expect(problem).toContain('DATABASE_URL');
    } else {
      expect(problem).toBeUndefined();
    }
  });

  it('accepts folders everyone can enter, including a data folder that does not exist yet', async () => {
    await chmod(parent, 0o755);
    expect(
      embeddedPostgresAccessProblem([path.join(parent, 'not-yet', 'postgres')]),
    ).toBeUndefined();
  });
});
