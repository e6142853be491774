/**
 * The browser of the browser tests: CHROMIUM_PATH when set, else the headless Chromium that the npm
 * package @sparticuz/chromium ships (brotli files inside the package, no download). The package
 * unpacks into os.tmpdir(); here it unpacks once per version into node_modules/.cache (a staging
 * folder renamed into place, so a half-unpacked browser is never used), with the libraries it ships
 * for Amazon Linux (NSS, NSPR, expat) beside it, so the browser needs nothing of the system but libc.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import sparticuzChromium from '@sparticuz/chromium';
import { Browser, chromium } from 'playwright-core';
import { track } from './resources';

const ROOT = path.resolve(__dirname, '../..');
const CACHE = path.join(ROOT, 'node_modules/.cache/scanqueue-chromium');

/** Keep Chromium off the network: this machine has none, and a test needs none. */
const QUIET_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The package's Chromium, unpacked into the cache on first use; its folder. */
async function unpackedChromium(): Promise<string> {
  const packageDir = path.resolve(path.dirname(require.resolve('@sparticuz/chromium')), '../..');
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const dir = path.join(CACHE, version);
  if (existsSync(path.join(dir, 'chromium'))) return dir;

  await mkdir(CACHE, { recursive: true });
  for (const name of await readdir(CACHE)) {
    const owner = /\.unpacking-(\d+)$/.exec(name)?.[1];
    if (owner && !isRunning(Number(owner)))
      await rm(path.join(CACHE, name), { recursive: true, force: true });
  }
  const staging = `${dir}.unpacking-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  try {
    // The package's own unpacking, with os.tmpdir() = the staging folder; AWS_EXECUTION_ENV makes
    // it unpack its Amazon Linux libraries too (into al2023/lib).
    await promisify(execFile)(
      process.execPath,
      ['-e', "require('@sparticuz/chromium').executablePath()"],
      {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: staging, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x' },
      },
    );
    // Its fonts.conf names /tmp/fonts; this one names the unpacked fonts.
    await writeFile(
      path.join(staging, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
        `  <dir>${path.join(dir, 'fonts')}</dir>\n  <cachedir>${path.join(dir, 'fonts-cache')}</cachedir>\n` +
        `</fontconfig>\n`,
    );
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Another run unpacked it at the same time.
    if (!existsSync(path.join(dir, 'chromium'))) throw error;
  }
  return dir;
}

/** A headless Chromium, closed with the test file if the test does not close it. */
export async function launchChromium(): Promise<Browser> {
  const override = process.env.CHROMIUM_PATH;
  let browser: Browser;
  if (override) {
    browser = await chromium.launch({
      executablePath: override,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', ...QUIET_ARGS],
    });
  } else {
    const dir = await unpackedChromium();
    browser = await chromium.launch({
      executablePath: path.join(dir, 'chromium'),
      headless: true,
      // --single-process is for Lambda; here it makes the browser die when a context closes.
      args: [...sparticuzChromium.args.filter((arg) => arg !== '--single-process'), ...QUIET_ARGS],
      env: {
        ...process.env,
        LD_LIBRARY_PATH: path.join(dir, 'al2023/lib'),
        FONTCONFIG_PATH: dir,
      },
    });
  }
  const resource = track(`Chromium ${browser.version()}`, () => browser.close());
  browser.on('disconnected', () => void resource.release());
  return browser;
}
