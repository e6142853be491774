#!/usr/bin/env node
/*
 * The package's bin: a launcher kept in git, so that npm links it into node_modules/.bin at install
 * time, before the agent's TypeScript (src/) is built to dist/.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'main.js');
try {
  require.resolve(main);
} catch {
  process.stderr.write(
    'scanqueue-agent is not built yet: run `npm run build` at the root of the scanqueue checkout\n',
  );
  process.exit(1);
}
require(main);
