// Debian's chromium driven by playwright-core (which downloads no browser). On a developer's
// machine without it the browser tests are skipped with a warning; in CI (CI=true) a browser
// that cannot start fails the run instead, so the browser tests can never pass by not running.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--headless',
];

export interface LaunchedChromium {
  browser: Browser | null;
  /** Why there is no browser (for the skipped suite's title); empty when there is one. */
  skipReason: string;
}

/** Launches chromium for the tests `what` names, or says why they are skipped. */
export async function launchChromium(what: string): Promise<LaunchedChromium> {
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      headless: true,
    });
    return { browser, skipReason: '' };
  } catch (err) {
    const firstLine = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    const reason = `chromium cannot be launched from ${CHROMIUM_PATH} (${firstLine})`;
    if (process.env.CI === 'true') throw new Error(`${what}: ${reason}; CI must run them`, { cause: err });
    console.warn(`SKIPPING ${what}: ${reason}. Debian: apt-get install -y chromium`);
    return { browser: null, skipReason: reason };
  }
}
