/**
 * `npm run openapi` writes the OpenAPI document built from the code to docs/openapi.json;
 * `npm run openapi -- --check` (CI) exits 1 when the committed copy differs. No database is
 * needed: the app is built in Nest's preview mode and the document is read from the same
 * `/docs-json` route, built by the same function, that a running server serves.
 */
import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../app';
import { loadAppConfig } from '../config/app-config';
import { DOCS_JSON_PATH } from '../openapi/openapi-document';
import { describeDrift, serializeOpenApi } from '../openapi/openapi-drift';

/** From dist/src/cli/ (where this runs) up to the repository root. */
const COMMITTED_FILE = path.resolve(__dirname, '../../../docs/openapi.json');

const USAGE = `Usage:
  npm run openapi                 write docs/openapi.json from the code
  npm run openapi -- --check      exit 1 if docs/openapi.json differs from the code
Options: --file PATH (another file than docs/openapi.json)`;

async function generate(): Promise<string> {
  // Defaults only, not the caller's environment: the document must not depend on who exports it.
  const config = loadAppConfig({});
  const app = await createApp(config, { logger: false, preview: true });
  try {
    const response = await app.inject({
      method: 'GET',
      url: `${config.CONTEXT_PATH}/${DOCS_JSON_PATH}`,
    });
    if (response.statusCode !== 200) {
      throw new Error(`/${DOCS_JSON_PATH} answered ${response.statusCode}: ${response.body}`);
    }
    return serializeOpenApi(JSON.parse(response.body));
  } finally {
    await app.close();
  }
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      check: { type: 'boolean', default: false },
      file: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseOptions>;
  try {
    values = parseOptions(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const file = path.resolve(values.file ?? COMMITTED_FILE);
  const shown = path.relative(process.cwd(), file) || file;
  const generated = await generate();
  const operations = Object.values(
    (JSON.parse(generated) as { paths: Record<string, object> }).paths,
  ).reduce((sum, item) => sum + Object.keys(item).length, 0);

  if (!values.check) {
    await writeFile(file, generated);
    console.error(`Wrote ${shown} (${operations} operations).`);
    return 0;
  }
  const committed = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (committed === undefined) {
    console.error(`${shown} does not exist. Run \`npm run openapi\` and commit the file.`);
    return 1;
  }
  const drift = describeDrift(committed, generated);
  if (drift.length === 0) {
    console.error(`${shown} matches the code (${operations} operations).`);
    return 0;
  }
  console.error(
    `${shown} is out of date with the code. Run \`npm run openapi\` and commit the result.\n` +
      drift.map((line) => `  ${line}`).join('\n'),
  );
  return 1;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
