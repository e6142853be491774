// Jest's node environment, plus: when a test file is done (passed, failed, or failed to load), it
// releases what the file's helpers still hold (resources.ts), so that a failing suite's servers,
// processes, folders and databases do not outlive it, and says so in one line.
import { TestEnvironment } from 'jest-environment-node';
import path from 'node:path';

export default class ScanqueueTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testFile = path.relative(config.projectConfig.rootDir, context.testPath);
  }

  async teardown() {
    try {
      const releaseAll = this.global.__scanqueueReleaseAll;
      const left = typeof releaseAll === 'function' ? await releaseAll() : [];
      if (left.length > 0)
        process.stderr.write(`${this.testFile} left running, released at its end: ${left.join(', ')}\n`);
    } finally {
      await super.teardown();
    }
  }
}
