// The demo page in real headless Chromium (the system's or playwright's, driven by playwright-core),
// against the whole service started in this process. Screenshots land in test-artifacts/.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient, type SessionView, type SyncKairosClient } from '@synckairos/client';
import { loadConfig } from '../../src/config/config.js';
import { formatClock, formatCountdown, formatOverUnder } from '../../src/demo/format.js';
import { parseAgenda, stagePhases } from '../../src/demo/home.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { launchChromium } from '../helpers/chromium.js';
import { testDataDir } from '../helpers/testDataDir.js';

const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** Two screens showing the same clock may differ by at most this, at the same instant. */
const AGREEMENT_MS = 100;
/** One animation frame at 60 Hz: two screens' first frames past a crossing are at most this apart. */
const FRAME_MS = 1000 / 60;
const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 760 } };
const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

// Launched while the file is collected (no hook timeout cuts a first run's download); without a
// browser the file fails with the one line that says how to install one.
const browser = await launchChromium('the demo page browser tests');

describe('formatClock (what the demo draws)', () => {
  it('rounds up, so a clock shows 0 only when no time is left', () => {
    expect(formatClock(300_000)).toBe('5:00');
    expect(formatClock(299_001)).toBe('5:00');
    expect(formatClock(299_000)).toBe('4:59');
    expect(formatClock(3_725_000)).toBe('1:02:05');
    expect(formatClock(10_000)).toBe('0:10');
    expect(formatClock(9_901)).toBe('0:10');
    expect(formatClock(9_900)).toBe('9.9');
    expect(formatClock(1)).toBe('0.1');
    expect(formatClock(0)).toBe('0.0');
    expect(formatClock(-5)).toBe('0.0');
    expect(formatCountdown(600_000)).toBe('10:00');
    expect(formatCountdown(59_001)).toBe('1:00');
    expect(formatCountdown(400)).toBe('0:01');
    // Overtime counts on below zero on the same rounding: no second is shown twice.
    expect(formatCountdown(-400)).toBe('0:00');
    expect(formatCountdown(-1_000)).toBe('−0:01');
    expect(formatCountdown(-12_300)).toBe('−0:12');
    expect(formatOverUnder(2_500)).toBe('+2.5');
    expect(formatOverUnder(-65_000)).toBe('−1:05');
    expect(formatOverUnder(0)).toBe('0.0');
  });
});

describe('what the home page creates', () => {
  it('a countdown’s phases scale with its length, strictly decreasing', () => {
    expect(stagePhases(10 * 60_000)).toEqual([
      { name: 'warning', remaining_ms: 60_000 },
      { name: 'danger', remaining_ms: 10_000 },
    ]);
    expect(stagePhases(60_000)).toEqual([
      { name: 'warning', remaining_ms: 12_000 },
      { name: 'danger', remaining_ms: 6_000 },
    ]);
    expect(stagePhases(6_000)).toEqual([
      { name: 'warning', remaining_ms: 1_200 },
      { name: 'danger', remaining_ms: 600 },
    ]);
  });

  it('a run sheet is one cue a line, “label, minutes”', () => {
    expect(parseAgenda('Welcome, 2\n\n Q&A , 0.5 ')).toEqual([
      { label: 'Welcome', duration_ms: 120_000 },
      { label: 'Q&A', duration_ms: 30_000 },
    ]);
    expect(parseAgenda('Welcome')).toMatch(/^Line 1:/);
    expect(parseAgenda('Welcome, 2\nBreak, 0')).toMatch(/^Line 2:/);
    expect(parseAgenda(' \n')).toBe('The run sheet needs at least one cue.');
  });
});

/** One change of a clock's phase class, as the page saw it. */
interface PhaseChange {
  phase: string;
  className: string;
  /** The page's server-time estimate, now(), of the frame that drew it. */
  serverMs: number;
  /** The same of the frame before: the phase changed between the two. */
  previousServerMs: number;
  /** That frame's local epoch time (the embedded server's clock is this machine's). */
  drawnAtMs: number;
  /** The page's clock-sync uncertainty then. */
  uncertaintyMs: number;
  color: string;
}

/**
 * Records, in the page, every change of the stage clock's class with the server time of the
 * frame that drew it and of the frame before (a MutationObserver on the clock's class and on the
 * server time each frame writes).
 */
/** Half the last digit of `data-server-ms` (written with one decimal). */
const SERVER_MS_ROUNDING = 0.05;

function watchPhases(page: Page): Promise<void> {
  return page.evaluate(() => {
    const root = document.getElementById('clocks') as HTMLElement;
    const clock = root.querySelector<HTMLElement>('.clock[data-clock="session"]') as HTMLElement;
    const log: PhaseChange[] = [];
    (globalThis as unknown as { phaseLog: PhaseChange[] }).phaseLog = log;
    let last = clock.dataset.phase ?? '';
    let previousServerMs = Number(root.dataset.serverMs);
    new MutationObserver(() => {
      // Delivered right after each drawing: #clocks holds that frame's server time.
      const serverMs = Number(root.dataset.serverMs);
      const phase = clock.dataset.phase ?? '';
      if (phase !== last) {
        last = phase;
        log.push({
          phase,
          className: clock.className,
          serverMs,
          previousServerMs,
          drawnAtMs: Number(root.dataset.drawnAtMs),
          uncertaintyMs: Number(document.getElementById('sync-uncertainty')?.dataset.ms),
          color: getComputedStyle(clock.querySelector('.clock-time') as HTMLElement).color,
        });
      }
      previousServerMs = serverMs;
    }).observe(root, { attributes: true, subtree: true, attributeFilter: ['class', 'data-server-ms'] });
  });
}

function phaseLog(page: Page): Promise<PhaseChange[]> {
  return page.evaluate(() => (globalThis as unknown as { phaseLog: PhaseChange[] }).phaseLog);
}

/** What a page drew in its last animation frame. */
interface Drawn {
  /** Local epoch ms (performance.timeOrigin + performance.now()) of the frame. */
  drawnAtMs: number;
  /** The page's estimate of server time, now(), used for the frame. */
  serverMs: number;
  status: string;
  active: string;
  clocks: Record<string, { remainingMs: number; text: string; running: boolean; expired: boolean }>;
}

function readDrawn(page: Page): Promise<Drawn> {
  return page.evaluate(() => {
    const root = document.getElementById('clocks') as HTMLElement;
    const clocks: Drawn['clocks'] = {};
    root.querySelectorAll<HTMLElement>('.clock').forEach((clock) => {
      clocks[clock.dataset.clock ?? ''] = {
        remainingMs: Number(clock.dataset.remainingMs),
        text: clock.querySelector('.clock-time')?.textContent ?? '',
        running: clock.dataset.running === 'true',
        expired: clock.dataset.expired === 'true',
      };
    });
    return {
      drawnAtMs: Number(root.dataset.drawnAtMs),
      serverMs: Number(root.dataset.serverMs),
      status: root.dataset.status ?? '',
      active: root.dataset.active ?? '',
      clocks,
    };
  });
}

/** A running clock's drawn value carried to local instant `atMs` (it loses 1 ms per ms). */
function runningAt(drawn: Drawn, clock: string, atMs: number): number {
  return (drawn.clocks[clock]?.remainingMs ?? Number.NaN) - (atMs - drawn.drawnAtMs);
}

interface Screen {
  page: Page;
  problems: string[];
}

/** Every console error, page error and CSP violation of a page, to assert there were none. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return problems;
}

describe(
  'the demo page in Chromium',
  // A browser on a busy two-core machine: generous, and still far from a hang.
  { timeout: 120_000 },
  () => {
    let server: RunningServer;
    let api: SyncKairosClient;
    let dataDir: string;
    const contexts: BrowserContext[] = [];
    // Three screens, each its own browser context (no shared storage), reused by the tests:
    // opening a page costs seconds on a loaded machine, navigating it much less.
    let a: Screen;
    let b: Screen;
    let phone: Screen;

    async function newScreen(options: BrowserContextOptions): Promise<Screen> {
      const context = await browser.newContext(options);
      contexts.push(context);
      const page = await context.newPage();
      return { page, problems: watchProblems(page) };
    }

    const screenshot = (page: Page, name: string) =>
      page.screenshot({ path: path.join(ARTIFACTS_DIR, name), animations: 'disabled' });

    beforeAll(async () => {
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      dataDir = testDataDir();
      server = await startServer(
        loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: dataDir }),
      );
      api = createClient({ url: server.url });
      [a, b, phone] = await Promise.all([newScreen(DESKTOP), newScreen(DESKTOP), newScreen(PHONE)]);
    }, 120_000);

    beforeEach(() => {
      for (const screen of [a, b, phone]) screen.problems.length = 0;
    });

    afterAll(async () => {
      for (const context of contexts) await context.close();
      await browser.close();
      await server?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('a chess clock created on one page and opened from its link on another shows the same time on both', async () => {
      await a.page.goto(`${server.url}/`);
      await screenshot(a.page, 'demo-home.png');
      await a.page.click('.presets button[data-minutes="5"][data-increment="3"]');
      await a.page.click('#create-button');
      await a.page.waitForURL(/\/s\/chess-[a-z0-9]+$/);
      const sessionId = decodeURIComponent(new URL(a.page.url()).pathname.split('/')[2] ?? '');
      // A player's clock turns red in its last ten seconds: the session's phase, not the page's.
      expect((await api.getSession(sessionId)).phases).toEqual([{ name: 'danger', remaining_ms: 10_000 }]);
      // The other screen opens the link's second form.
      await b.page.goto(`${server.url}/?session=${sessionId}`);
      for (const { page } of [a, b]) {
        await page.waitForSelector('#connection[data-connection="connected"]');
        await page.waitForSelector(
          '#clocks[data-status="pending"] .clock[data-clock="white"][data-active="true"]',
        );
      }

      await a.page.click('#btn-start');
      for (const { page } of [a, b])
        await page.waitForSelector('.clock[data-clock="white"][data-running="true"]');
      await a.page.waitForTimeout(400);
      // White taps their own clock when the move is done: the turn passes to black.
      await a.page.click('.clock[data-clock="white"]');
      for (const { page } of [a, b]) {
        await page.waitForSelector('.clock[data-clock="black"][data-running="true"]');
        await page.waitForSelector('.clock[data-clock="white"][data-running="false"]');
      }
      await a.page.waitForTimeout(300);

      const truth: SessionView = await api.getSession(sessionId);
      const whiteTruthMs = truth.participants.find((p) => p.participant_id === 'white')?.time_remaining_ms;
      const blackTruthMs = truth.participants.find((p) => p.participant_id === 'black')
        ?.time_remaining_ms as number;
      expect(truth.active_participant_id).toBe('black');

      /*
       * How the two screens are compared: each page keeps, with the exact remaining ms it drew in
       * its last frame, the local time of that frame (performance.timeOrigin + now(): the machine's
       * clock, which both pages and this process share). Both pages are read in parallel, and each
       * running value is carried to one common local instant (a running clock loses exactly 1 ms
       * per ms), which is what the two screens showed at the same moment. The server's own answer
       * is carried to that instant the same way (the embedded server's clock is this machine's),
       * so each page is also checked against the truth, not only against the other page.
       */
      for (let round = 0; round < 5; round++) {
        const [drawnA, drawnB] = await Promise.all([readDrawn(a.page), readDrawn(b.page)]);
        const atMs = Math.max(drawnA.drawnAtMs, drawnB.drawnAtMs);
        const blackA = runningAt(drawnA, 'black', atMs);
        const blackB = runningAt(drawnB, 'black', atMs);
        const blackTruth = blackTruthMs - (atMs - truth.server_time);
        expect(Math.abs(blackA - blackB)).toBeLessThanOrEqual(AGREEMENT_MS);
        expect(Math.abs(blackA - blackTruth)).toBeLessThanOrEqual(AGREEMENT_MS);
        expect(Math.abs(blackB - blackTruth)).toBeLessThanOrEqual(AGREEMENT_MS);
        for (const drawn of [drawnA, drawnB]) {
          expect(drawn.active).toBe('black');
          expect(drawn.clocks.black?.running).toBe(true);
          // The stopped clock is the server's number exactly: 300 000 − used + 3 000 increment.
          expect(drawn.clocks.white?.remainingMs).toBe(whiteTruthMs);
          expect(drawn.clocks.white?.text).toBe(formatClock(whiteTruthMs as number));
          expect(drawn.clocks.black?.text).toBe(formatClock(drawn.clocks.black?.remainingMs ?? Number.NaN));
        }
        await a.page.waitForTimeout(60);
      }
      // Black's clock runs on both screens: each one's drawn value keeps falling.
      const [before] = await Promise.all([readDrawn(b.page)]);
      await b.page.waitForTimeout(250);
      const after = await readDrawn(b.page);
      const fellMs = (before.clocks.black?.remainingMs ?? 0) - (after.clocks.black?.remainingMs ?? 0);
      expect(fellMs).toBeGreaterThan(150);
      expect(fellMs).toBeLessThan(500);

      await Promise.all([screenshot(a.page, 'demo-chess-a.png'), screenshot(b.page, 'demo-chess-b.png')]);
      // The sync readout shows real numbers, not placeholders.
      expect(await a.page.textContent('#sync-rtt')).toMatch(/ms$/);
      expect(a.problems).toEqual([]);
      expect(b.problems).toEqual([]);
    });

    it('pause and resume on one screen stop and restart the clock on the other', async () => {
      const id = await createChess(600_000);
      await api.start(id);
      await Promise.all([a.page.goto(`${server.url}/s/${id}`), b.page.goto(`${server.url}/s/${id}`)]);
      for (const { page } of [a, b]) await page.waitForSelector('#clocks[data-status="running"]');
      await a.page.keyboard.press('p');
      await b.page.waitForSelector('#clocks[data-status="paused"]');
      const paused = await readDrawn(b.page);
      await b.page.waitForTimeout(200);
      expect((await readDrawn(b.page)).clocks.white?.remainingMs).toBe(paused.clocks.white?.remainingMs);
      await b.page.click('#btn-resume');
      await a.page.waitForSelector('#clocks[data-status="running"]');
      // Space passes the turn, as tapping the running clock does.
      await b.page.keyboard.press('Space');
      await a.page.waitForSelector('.clock[data-clock="black"][data-running="true"]');
      expect(a.problems).toEqual([]);
      expect(b.problems).toEqual([]);
    });

    it('the chess clock offers delay, Bronstein, byo-yomi and two stages, and draws the delay countdown and the periods', async () => {
      const { page, problems } = a;
      await page.goto(`${server.url}/`);
      const options = await page.$$eval('select[name="control"] option', (list) =>
        list.map((o) => (o as HTMLOptionElement).value),
      );
      expect(options).toEqual(['fischer', 'delay', 'bronstein', 'byoyomi', 'stages']);
      await page.selectOption('select[name="control"]', 'delay');
      expect(await page.textContent('#per-move-label')).toBe('Delay, seconds');
      await page.fill('input[name="minutes"]', '5');
      await page.fill('input[name="increment"]', '20');
      await page.click('#create-button');
      await page.waitForURL(/\/s\/chess-[a-z0-9]+$/);
      const delayId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? '');
      expect((await api.getSession(delayId)).time_control).toEqual({
        type: 'delay',
        initial_ms: 300_000,
        delay_ms: 20_000,
      });
      await page.waitForSelector('#clocks[data-status="pending"]');
      await page.keyboard.press('Space');
      await page.waitForSelector('.clock[data-clock="white"][data-running="true"]');
      await page.waitForTimeout(600);
      // The delay counts down beside the digits; the bank stands still during it.
      const delayMs = Number(
        await page.getAttribute('.clock[data-clock="white"] .clock-face', 'data-delay-ms'),
      );
      expect(delayMs).toBeGreaterThan(0);
      expect(delayMs).toBeLessThan(20_000);
      expect(await page.textContent('.clock[data-clock="white"] .clock-face')).toMatch(/^delay 0:[12]\d$/);
      expect((await readDrawn(page)).clocks.white?.text).toBe('5:00');
      await screenshot(page, 'demo-delay.png');

      // Byo-yomi with no main time: the digits count the period, the periods are shown.
      const byoyomi = await api.createSession({
        session_id: `demo-test-${process.pid}-byoyomi`,
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
        time_control: { type: 'byoyomi', initial_ms: 0, period_ms: 30_000, periods: 5 },
      });
      await page.goto(`${server.url}/s/${byoyomi.session_id}`);
      await page.waitForSelector('#clocks[data-status="pending"]');
      expect(await page.textContent('.clock[data-clock="white"] .clock-meta')).toContain('byo-yomi 5 × 30 s');
      await page.keyboard.press('Space');
      await page.waitForSelector('.clock[data-clock="white"][data-running="true"]');
      await page.waitForTimeout(600);
      expect(await page.getAttribute('.clock[data-clock="white"] .clock-face', 'data-periods-left')).toBe(
        '5',
      );
      expect(await page.textContent('.clock[data-clock="white"] .clock-face')).toMatch(
        /^byo-yomi · 5 × 0:[23]\d$/,
      );
      expect((await readDrawn(page)).clocks.white?.text).toMatch(/^0:[23]\d$/);
      await screenshot(page, 'demo-byoyomi.png');
      expect(problems).toEqual([]);
    });

    it('a flag fall is shown from the server’s expired state', async () => {
      const id = await createChess(1_500);
      const { page, problems } = a;
      await page.goto(`${server.url}/s/${id}`);
      await page.waitForSelector('#clocks[data-status="pending"]');
      await page.keyboard.press('Space');
      await page.waitForSelector('.clock[data-clock="white"][data-expired="true"]', { timeout: 15_000 });
      const drawn = await readDrawn(page);
      expect(drawn.status).toBe('expired');
      expect(drawn.clocks.white?.text).toBe('0.0');
      expect(drawn.clocks.black?.expired).toBe(false);
      expect(await page.textContent('#banner')).toBe("White's flag fell: Black wins on time");
      expect(await page.isVisible('#btn-new')).toBe(true);
      await screenshot(page, 'demo-flag.png');
      expect(problems).toEqual([]);
    });

    it('on a phone, the clocks fill the screen, a tap switches, and a stage countdown can be made', async () => {
      const { page, problems } = phone;
      await page.goto(`${server.url}/`);
      await screenshot(page, 'demo-phone-home.png');

      const id = await createChess(180_000, 2_000);
      await page.goto(`${server.url}/s/${id}`);
      await page.waitForSelector('#connection[data-connection="connected"]');
      await page.tap('.clock[data-clock="white"]'); // pending: a tap starts white's clock
      await page.waitForSelector('.clock[data-clock="white"][data-running="true"]');
      await page.waitForTimeout(300);
      await page.tap('.clock[data-clock="white"]');
      await page.waitForSelector('.clock[data-clock="black"][data-running="true"]');
      await page.waitForTimeout(200);
      await expectDigitsFit(page);
      await screenshot(page, 'demo-phone-chess.png');
      // One phone between two players: the far clock turns to face its player.
      await page.tap('#btn-flip');
      await page.waitForSelector('#clocks[data-facing="true"]');
      expect(
        await page.$eval('.clock[data-clock="white"]', (clock) => getComputedStyle(clock).transform),
      ).toBe('matrix(-1, 0, 0, -1, 0, 0)');
      await screenshot(page, 'demo-phone-face-to-face.png');
      await page.tap('#btn-flip');

      await page.goto(`${server.url}/`);
      await page.tap('label.kind:has(input[value="countdown"])');
      await page.tap('fieldset[data-kind="countdown"] .presets button[data-minutes="10"]');
      await page.tap('input[name="countdown-overtime"]');
      await page.tap('#create-button');
      await page.waitForURL(/\/s\/stage-[a-z0-9]+$/);
      const stage = await api.getSession(
        decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? ''),
      );
      expect(stage.on_expire).toBe('overtime');
      expect(stage.phases).toEqual([
        { name: 'warning', remaining_ms: 60_000 },
        { name: 'danger', remaining_ms: 10_000 },
      ]);
      await page.waitForSelector('#clocks[data-layout="stage"][data-status="pending"]');
      expect((await readDrawn(page)).clocks.session?.text).toBe('10:00');
      await page.tap('#btn-start');
      await page.waitForSelector('#clocks[data-status="running"]');
      await page.tap('#btn-minus');
      await page.waitForFunction(() =>
        document.querySelector('#clocks .clock-time')?.textContent?.startsWith('8:'),
      );
      await expectDigitsFit(page);
      await screenshot(page, 'demo-phone-countdown.png');
      expect(problems).toEqual([]);
    });

    it('a stage countdown on a wide screen', async () => {
      const { page, problems } = b;
      const created = await api.createSession({
        sync_mode: 'global',
        participants: [{ participant_id: 'stage' }],
        total_time_ms: 45 * 60_000,
      });
      await api.start(created.session_id);
      await page.goto(`${server.url}/s/${created.session_id}`);
      await page.waitForSelector('#clocks[data-layout="stage"][data-status="running"]');
      await page.waitForTimeout(300);
      await expectDigitsFit(page);
      await screenshot(page, 'demo-countdown.png');
      expect(problems).toEqual([]);
    });

    it('a phased countdown changes colour on two screens at the crossing itself, within a frame, and runs into overtime', async () => {
      const created = await api.createSession({
        session_id: `demo-test-${process.pid}-phased`,
        sync_mode: 'global',
        participants: [{ participant_id: 'stage' }],
        total_time_ms: 3_000,
        phases: stagePhases(3_000 * 5), // warning 3 000 (at once), danger 1 500
        on_expire: 'overtime',
      });
      expect(created.phases).toEqual([
        { name: 'warning', remaining_ms: 3_000 },
        { name: 'danger', remaining_ms: 1_500 },
      ]);
      await Promise.all([
        a.page.goto(`${server.url}/s/${created.session_id}`),
        b.page.goto(`${server.url}/s/${created.session_id}`),
      ]);
      for (const { page } of [a, b]) {
        await page.waitForSelector('#connection[data-connection="connected"]');
        await page.waitForSelector('#clocks[data-layout="stage"][data-status="pending"]');
        // Before the start no colour: only a running (or paused) clock shows its phase.
        expect(await page.getAttribute('.clock[data-clock="session"]', 'data-phase')).toBe('');
        await watchPhases(page);
      }
      const started = await api.start(created.session_id);
      expect(started.phase).toBe('warning');
      const dangerAtMs = started.next_phase_at as number;
      expect(dangerAtMs).toBeGreaterThan(started.server_time);
      for (const { page } of [a, b])
        await page.waitForSelector('.clock[data-clock="session"].phase-overtime', { timeout: 15_000 });

      const [logA, logB] = await Promise.all([phaseLog(a.page), phaseLog(b.page)]);
      for (const log of [logA, logB])
        expect(log.map((c) => c.phase)).toEqual(['warning', 'danger', 'overtime']);
      const crossingsMs = { danger: dangerAtMs, overtime: started.server_time + 3_000 };
      for (const phase of ['danger', 'overtime'] as const) {
        const [changeA, changeB] = [logA, logB].map(
          (log) => log.find((c) => c.phase === phase) as PhaseChange,
        );
        // Each screen changed in its first frame past the crossing, so the two are one frame apart
        // at most, in server time: 1/60 s, or a longer frame if the busy machine stretched one.
        const frameMs = Math.max(
          FRAME_MS,
          ...[changeA, changeB].map((c) => (c?.serverMs ?? 0) - (c?.previousServerMs ?? 0)),
        );
        expect(Math.abs((changeA?.serverMs ?? 0) - (changeB?.serverMs ?? 0))).toBeLessThanOrEqual(frameMs);
        for (const change of [changeA, changeB] as PhaseChange[]) {
          expect(change.className).toContain(`phase-${phase}`);
          // data-server-ms has one decimal: a frame at …235.96 reads …236.0, the crossing itself.
          expect(change.previousServerMs).toBeLessThan(crossingsMs[phase] + SERVER_MS_ROUNDING);
          // Never early: by the page's own estimate, nor by the clock it shares with the server.
          expect(change.serverMs).toBeGreaterThanOrEqual(crossingsMs[phase]);
          expect(change.drawnAtMs).toBeGreaterThanOrEqual(crossingsMs[phase] - change.uncertaintyMs);
          // And not waiting for anything but the clock (how late, on a loaded machine, is the bench's).
          expect(change.serverMs - crossingsMs[phase]).toBeLessThan(500);
        }
      }
      // Each phase has its colour: warning amber, danger red, overtime magenta.
      expect(logA.map((c) => c.color)).toEqual([
        'rgb(245, 185, 66)',
        'rgb(255, 90, 78)',
        'rgb(255, 107, 214)',
      ]);
      expect(await a.page.textContent('.clock[data-clock="session"] .clock-phase')).toBe('overtime');

      // Overtime counts on below zero until the operator acts; the session is still running.
      await a.page.waitForFunction(
        () => document.querySelector('#clocks .clock-time')?.textContent === '−0:01',
        undefined,
        { timeout: 5_000 },
      );
      const drawn = await readDrawn(a.page);
      expect(drawn.status).toBe('running');
      expect(drawn.clocks.session?.expired).toBe(false);
      expect(drawn.clocks.session?.remainingMs).toBeLessThanOrEqual(-1_000);
      await Promise.all([screenshot(a.page, 'demo-overtime.png'), screenshot(b.page, 'demo-overtime-b.png')]);
      // −1 min has nothing left to take in overtime: nothing is sent, nothing is refused.
      const version =
        drawn.status === 'running' ? await a.page.getAttribute('#clocks', 'data-version') : null;
      await a.page.click('#btn-minus');
      await a.page.waitForTimeout(300);
      expect(await a.page.getAttribute('#clocks', 'data-version')).toBe(version);
      expect(await a.page.isVisible('#toast')).toBe(false);
      await b.page.click('#btn-finish');
      await a.page.waitForSelector('#clocks[data-status="completed"]');
      expect(await a.page.getAttribute('.clock[data-clock="session"]', 'data-phase')).toBe('');
      expect(a.problems).toEqual([]);
      expect(b.problems).toEqual([]);
    });

    it('a session created by the API with phases of other names shows them, neutral, by name', async () => {
      const { page, problems } = b;
      const created = await api.createSession({
        session_id: `demo-test-${process.pid}-wrapup`,
        sync_mode: 'global',
        participants: [{ participant_id: 'stage' }],
        total_time_ms: 600_000,
        phases: [
          { name: 'wrap-up', remaining_ms: 900_000 },
          { name: 'warning', remaining_ms: 60_000 },
        ],
      });
      await api.start(created.session_id);
      await page.goto(`${server.url}/s/${created.session_id}`);
      await page.waitForSelector('.clock[data-clock="session"].phase-wrap-up.phase-other');
      expect(await page.textContent('.clock[data-clock="session"] .clock-phase')).toBe('wrap-up');
      expect(
        await page.$eval('.clock[data-clock="session"] .clock-time', (time) => getComputedStyle(time).color),
      ).toBe('rgb(143, 195, 255)');
      expect(problems).toEqual([]);
    });

    it('a run sheet: cues in order, “Next cue” on one screen, actual and over/under and the drift on both', async () => {
      const { page, problems } = a;
      await page.goto(`${server.url}/`);
      await page.click('label.kind:has(input[value="runsheet"])');
      expect(await page.inputValue('textarea[name="agenda"]')).toContain('Welcome, 2');
      await page.fill('textarea[name="agenda"]', 'Intro, 0.05\nTalk, 0.02\nWrap, 0.05\nClose, 0.05');
      await page.click('#create-button');
      await page.waitForURL(/\/s\/cues-[a-z0-9]+$/);
      const sessionId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? '');
      await b.page.goto(`${server.url}/s/${sessionId}`);
      for (const screen of [page, b.page]) {
        await screen.waitForSelector('#clocks[data-layout="runsheet"][data-status="pending"]');
        expect(await screen.textContent('.clock[data-clock="session"] .clock-name')).toBe('Intro');
        expect(await screen.textContent('#runsheet-next')).toBe('Talk (0:02)');
      }
      expect((await api.getSession(sessionId)).on_expire).toBe('overtime');
      await page.click('#btn-start');
      await page.waitForSelector('#btn-next:not([hidden])');
      await page.waitForTimeout(800);
      // Intro ends early: under its plan.
      await page.click('#btn-next');
      await b.page.waitForSelector('.cue[data-index="0"][data-cue="done"]');
      expect(await b.page.textContent('.clock[data-clock="session"] .clock-name')).toBe('Talk');
      // Talk runs past its 1.2 s into overtime, in the overtime colour on both screens.
      for (const screen of [page, b.page])
        await screen.waitForSelector('.clock[data-clock="session"].phase-overtime', { timeout: 10_000 });
      await page.waitForTimeout(300);
      await page.click('#btn-next');
      for (const screen of [page, b.page])
        await screen.waitForSelector('.cue[data-index="1"][data-cue="done"]');

      const truth = await api.getSession(sessionId);
      expect(truth.cycle_index).toBe(2);
      for (const screen of [page, b.page]) {
        const rows = await screen.$$eval('.cue', (items) =>
          items.map((item) => ({
            state: (item as HTMLElement).dataset.cue,
            actualMs: Number((item as HTMLElement).dataset.actualMs ?? Number.NaN),
            overUnderMs: Number((item as HTMLElement).dataset.overUnderMs ?? Number.NaN),
            actual: item.querySelector('.cue-actual')?.textContent,
            overUnder: item.querySelector('.cue-over-under')?.textContent,
          })),
        );
        expect(rows.map((r) => r.state)).toEqual(['done', 'done', 'running', 'upcoming']);
        for (const [i, row] of rows.slice(0, 2).entries()) {
          const cue = truth.cycles?.[i];
          expect(row.actualMs).toBe(cue?.actual_ms);
          expect(row.overUnderMs).toBe(cue?.over_under_ms);
          expect(row.actual).toBe(formatCountdown(cue?.actual_ms ?? 0));
          expect(row.overUnder).toBe(formatOverUnder(cue?.over_under_ms ?? 0));
        }
        expect(rows[0]?.overUnderMs).toBeLessThan(0);
        expect(rows[1]?.overUnderMs).toBeGreaterThan(0);
        // The drift is the sum of what the list shows, and the server's.
        const driftMs = Number(await screen.getAttribute('#runsheet-drift', 'data-ms'));
        expect(driftMs).toBe((rows[0]?.overUnderMs ?? 0) + (rows[1]?.overUnderMs ?? 0));
        expect(driftMs).toBe(truth.over_under_ms);
        expect(await screen.textContent('#runsheet-drift')).toBe(formatOverUnder(driftMs));
        expect(await screen.textContent('#runsheet-next')).toBe('Close (0:03)');
      }
      await screenshot(page, 'demo-runsheet.png');
      // On a phone the cue's digits still fill their panel above the list.
      await phone.page.goto(`${server.url}/s/${sessionId}`);
      await phone.page.waitForSelector('#clocks[data-layout="runsheet"]');
      await phone.page.waitForSelector('.cue[data-index="1"][data-cue="done"]');
      await expectDigitsFit(phone.page);
      await screenshot(phone.page, 'demo-phone-runsheet.png');
      expect(problems).toEqual([]);
      expect(b.problems).toEqual([]);
      expect(phone.problems).toEqual([]);
    });

    it('a link to a clock that does not exist says so', async () => {
      const { page } = phone;
      await page.goto(`${server.url}/s/no-such-clock`);
      await page.waitForSelector('#problem:not([hidden])');
      expect(await page.textContent('#problem-title')).toBe('Clock not found');
    });

    let seq = 0;
    async function createChess(totalTimeMs: number, incrementMs = 0): Promise<string> {
      const created = await api.createSession({
        session_id: `demo-test-${process.pid}-${++seq}`,
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
        total_time_ms: totalTimeMs,
        increment_ms: incrementMs,
      });
      return created.session_id;
    }
  },
);

/** Every clock's digits lie inside their panel, and the panels inside the screen. */
async function expectDigitsFit(page: Page): Promise<void> {
  const boxes = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('#clocks .clock')).map((clock) => {
      const panel = clock.getBoundingClientRect();
      const digits = (clock.querySelector('.clock-time') as HTMLElement).getBoundingClientRect();
      return {
        panel: { left: panel.left, right: panel.right, top: panel.top, bottom: panel.bottom },
        digits: { left: digits.left, right: digits.right, top: digits.top, bottom: digits.bottom },
        fontPx: parseFloat(getComputedStyle(clock.querySelector('.clock-time') as HTMLElement).fontSize),
        screen: { width: innerWidth, height: innerHeight },
      };
    }),
  );
  expect(boxes.length).toBeGreaterThan(0);
  for (const { panel, digits, fontPx, screen } of boxes) {
    expect(digits.left).toBeGreaterThanOrEqual(panel.left);
    expect(digits.right).toBeLessThanOrEqual(panel.right);
    expect(digits.top).toBeGreaterThanOrEqual(panel.top);
    expect(digits.bottom).toBeLessThanOrEqual(panel.bottom);
    expect(panel.right).toBeLessThanOrEqual(screen.width);
    expect(panel.bottom).toBeLessThanOrEqual(screen.height);
    // Readable across a table: digits at least 64 CSS px tall.
    expect(fontPx).toBeGreaterThanOrEqual(64);
  }
}
