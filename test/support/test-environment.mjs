// Jest's node environment, plus: when a test file's tests and hooks are done (passed, failed, or
// failed to load), it releases what the file's helpers still hold (resources.ts), so that a failing
// suite's servers, processes, folders and databases do not outlive it, and says so in one line.
import { TestEnvironment } from 'jest-environment-node';
import path from 'node:path';

export default class ScanqueueTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testFile = path.relative(config.projectConfig.rootDir, context.testPath);
  }

  async handleTestEvent(event) {
    // After the last afterAll, while the file's modules can still load what they need.
    if (event.name === 'run_finish') await this.releaseLeftovers();
  }

  async teardown() {
    try {
      await this.releaseLeftovers(); // a file that failed to load has no run_finish
    } finally {
      await super.teardown();
    }
  }

  async releaseLeftovers() {
    const releaseAll = this.global.__scanqueueReleaseAll;
    if (typeof releaseAll !== 'function') return;
    try {
      const left = await releaseAll();
      if (left.length > 0)
        process.stderr.write(`${this.testFile} left running, released at its end: ${left.join(', ')}\n`);
    } catch (error) {
      process.stderr.write(`${this.testFile}: ${error.message} (the run's teardown sweeps it)\n`);
    }
  }
}
