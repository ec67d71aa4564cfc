// Headless Chromium driven by playwright-core: the system's browser when there is one
// (/usr/bin/chromium or `chromium` on the PATH); otherwise playwright's own headless shell, which
// the first run downloads into playwright's cache (~/.cache/ms-playwright) for later runs. Without
// either, the browser tests fail with one line naming the command that installs a browser: they
// never pass by not running.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { firstLine, onPath, say, systemProgramsAllowed } from './provisioning.js';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--headless',
];
const INSTALL_HINT =
  'install a browser: apt-get install -y chromium (Debian/Ubuntu), ' +
  'or npx playwright-core install --with-deps chromium-headless-shell';

function systemChromium(): string | null {
  if (!systemProgramsAllowed()) return null;
  return existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : onPath('chromium');
}

/** Which browser the browser tests will use, for the line the global setup prints. */
export function chromiumSource(): string {
  return (
    systemChromium() ??
    "none on this system: playwright's headless shell (a first run of the browser tests downloads it)"
  );
}

/** Launches headless Chromium for the tests `what` names; throws one line when there is none. */
export async function launchChromium(what: string): Promise<Browser> {
  const system = systemChromium();
  const fail = (problem: string, err: unknown): Error =>
    new Error(`${what}: ${problem} (${firstLine(err)}); ${INSTALL_HINT}`, { cause: err });
  if (system !== null) {
    try {
      return await chromium.launch({ executablePath: system, args: CHROMIUM_ARGS, headless: true });
    } catch (err) {
      throw fail(`Chromium at ${system} does not start`, err);
    }
  }
  try {
    await installPlaywrightChromium();
  } catch (err) {
    throw fail(
      `no Chromium at ${SYSTEM_CHROMIUM} or on the PATH, and playwright could not download its own`,
      err,
    );
  }
  try {
    return await chromium.launch({ args: CHROMIUM_ARGS, headless: true });
  } catch (err) {
    throw fail("playwright's Chromium does not start", err);
  }
}

/** `playwright-core install chromium-headless-shell`: a no-op once installed, else a download with progress. */
function installPlaywrightChromium(): Promise<void> {
  const cli = path.join(
    path.dirname(createRequire(import.meta.url).resolve('playwright-core/package.json')),
    'cli.js',
  );
  say(
    'chromium: none on this system; making sure playwright has its headless shell (a first run downloads it)',
  );
  return new Promise((resolve, reject) => {
    const install = spawn(process.execPath, [cli, 'install', 'chromium-headless-shell'], {
      stdio: 'inherit',
    });
    install.once('error', reject);
    install.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`playwright-core install exited ${code}`)),
    );
  });
}
