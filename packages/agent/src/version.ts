/**
 * The agent's own version (its package.json's), apart from the server's: `--version` prints it and
 * each claim carries it in agentConfig, so an admin can see which agent took a task.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

// package.json sits one level above dist/ (the built bin) and src/ (the specs) alike.
const manifest = path.join(__dirname, '..', 'package.json');

export const AGENT_VERSION = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string })
  .version;
