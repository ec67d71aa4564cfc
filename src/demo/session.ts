// The clock page of one session. Every frame draws the digits from the SDK — remaining() at the
// server time now() — so the page never counts down on its own: the server's timestamps and the
// synced clock say what every screen shows. Status, flags and whose turn it is come from the
// server's STATE only. A clock's colour is the session's phase as the SDK computes it from the
// server's thresholds at that same instant, so every screen changes colour at the crossing itself.
import {
  connect,
  SyncKairosApiError,
  type ConnectionStatus,
  type SessionView,
  type LocalClockFace,
  type SyncKairosHandle,
  type TimeControl,
  type CueView,
} from '@synckairos/client';

import { byId, element, setText, showView, toast } from './dom.js';
import {
  formatClock,
  formatCountdown,
  formatOffset,
  formatOverUnder,
  formatSmallDuration,
} from './format.js';
import { shareUrl } from './links.js';

/** How the session is drawn: a clock per participant, one big clock for the room, or a cue list's. */
type Layout = 'players' | 'stage' | 'runsheet';

/** Phase names with a colour of their own in styles.css; any other is drawn neutral, its name shown. */
const STYLED_PHASES: ReadonlySet<string> = new Set(['warning', 'danger', 'critical', 'overtime']);
const ADJUST_STEP_MS = 60_000;
const FACING_KEY = 'synckairos.faceToFace';

interface ClockPanel {
  /** A participant id, or 'session' for the stage clock. */
  id: string;
  root: HTMLElement;
  time: HTMLElement;
  badge: HTMLElement;
  meta: HTMLElement;
  /** A player's clock: what its time control shows beside the digits (delay, periods, stage). */
  face: HTMLElement;
  /** Stage countdown: the bar of time left. */
  progress: HTMLElement | null;
  name: HTMLElement;
  /** The phase's name, beside the clock's. */
  phaseLabel: HTMLElement;
  /** The phase drawn last, whose class `phase-<name>` the panel has. */
  phase: string | null;
}

export interface OpenSession {
  close(): void;
}

/** Opens a session's page: connects, draws, wires the controls. */
export async function openSession(sessionId: string, token?: string): Promise<OpenSession> {
  showView('session');
  const clocks = byId('clocks');
  clocks.replaceChildren();
  clocks.removeAttribute('data-layout');
  setConnection('connecting');
  setText(byId('banner'), 'Connecting…');
  let handle: SyncKairosHandle;
  try {
    handle = await connect({ url: location.origin, sessionId, ...(token ? { token } : {}) });
  } catch (err) {
    showConnectProblem(sessionId, err, token);
    return { close() {} };
  }
  const screen = new SessionScreen(handle);
  return { close: () => screen.close() };
}

function showConnectProblem(sessionId: string, err: unknown, token: string | undefined): void {
  showView('problem');
  const code = err instanceof SyncKairosApiError ? err.code : null;
  const retry = byId<HTMLButtonElement>('problem-retry');
  if (code === 'SESSION_NOT_FOUND') {
    setText(byId('problem-title'), 'Clock not found');
    setText(
      byId('problem-text'),
      `There is no clock “${sessionId}” here. It may have ended more than an hour ago, or the link is mistyped.`,
    );
    retry.hidden = true;
    return;
  }
  setText(byId('problem-title'), 'Cannot reach the clock');
  setText(
    byId('problem-text'),
    code === 'UNAUTHORIZED' || code === 'FORBIDDEN'
      ? 'This server requires a token (auth is on). Open the link with #token=<your JWT> at the end.'
      : 'The server did not answer. Check the connection and try again.',
  );
  retry.hidden = false;
  retry.onclick = () => void openSession(sessionId, token);
}

function setConnection(status: ConnectionStatus | 'connecting'): void {
  const badge = byId('connection');
  badge.dataset.connection = status;
  const text: Record<typeof status, string> = {
    connecting: 'Connecting…',
    connected: 'Live',
    reconnecting: 'Reconnecting…',
    disconnected: 'Offline',
    unauthorized: 'Signed out',
  };
  setText(byId('connection-text'), text[status]);
}

function displayName(participantId: string): string {
  return participantId.charAt(0).toUpperCase() + participantId.slice(1);
}

function layoutOf(state: SessionView): Layout {
  if (state.sync_mode === 'global' || state.sync_mode === 'count_up') return 'stage';
  return state.sync_mode === 'per_cycle' && (state.cycles?.length ?? 0) > 0 ? 'runsheet' : 'players';
}

class SessionScreen {
  private readonly handle: SyncKairosHandle;
  private readonly layout: Layout;
  private readonly panels: ClockPanel[] = [];
  private readonly clocks = byId('clocks');
  private readonly unsubscribe: (() => void)[] = [];
  private frameId = 0;
  /** One command at a time: a second tap while the first is on its way would act on a stale turn. */
  private busy = false;
  private wakeLock: WakeLockSentinel | null = null;
  private lastTitle = '';

  constructor(handle: SyncKairosHandle) {
    this.handle = handle;
    this.layout = layoutOf(handle.state);
    this.build();
    this.bindControls();
    this.unsubscribe.push(
      handle.on('state', (state) => this.render(state)),
      handle.on('expired', () => navigator.vibrate?.([200, 100, 200])),
      handle.on('sync', () => this.renderSync()),
      handle.on('connection', (status, error) => {
        setConnection(status);
        if (status === 'disconnected' && error !== undefined)
          setText(byId('banner'), 'This clock was removed from the server.');
      }),
    );
    setConnection(handle.connectionStatus);
    this.render(handle.state);
    this.renderSync();
    this.frameId = requestAnimationFrame(this.frame);
  }

  close(): void {
    cancelAnimationFrame(this.frameId);
    for (const off of this.unsubscribe) off();
    document.removeEventListener('keydown', this.onKey);
    document.removeEventListener('keyup', this.onKeyUp);
    document.removeEventListener('visibilitychange', this.onVisibility);
    void this.wakeLock?.release();
    void this.handle.close();
  }

  // ---- Building ----

  private build(): void {
    const state = this.handle.state;
    this.clocks.dataset.layout = this.layout;
    this.clocks.replaceChildren();
    if (this.layout !== 'players') {
      this.panels.push(this.buildPanel('session', 'div', stageLabel(state)));
    } else {
      for (const participant of state.participants)
        this.panels.push(
          this.buildPanel(participant.participant_id, 'button', displayName(participant.participant_id)),
        );
    }
    this.clocks.dataset.count = String(this.panels.length);
  }

  private buildPanel(id: string, tag: 'button' | 'div', name: string): ClockPanel {
    const root = element(tag, 'clock');
    root.dataset.clock = id;
    root.dataset.phase = '';
    if (root instanceof HTMLButtonElement) {
      root.type = 'button';
      root.addEventListener('pointerdown', (event) => {
        if (event.button === 0) this.tap(id);
      });
      // Keyboard activation (Enter) arrives as a click with no pointer behind it.
      root.addEventListener('click', (event) => {
        if (event.detail === 0) this.tap(id);
      });
    }
    const head = element('span', 'clock-head');
    const nameText = element('span', 'clock-name', name);
    const phaseLabel = element('span', 'clock-phase');
    const badge = element('span', 'clock-badge');
    head.append(nameText, phaseLabel, badge);
    const time = element('span', 'clock-time');
    const row = element('span', 'clock-meta');
    const meta = element('span', '');
    const face = element('span', 'clock-face');
    row.append(meta, face);
    root.append(head, time, row);
    let progress: HTMLElement | null = null;
    if (id === 'session' && (this.handle.state.sync_mode === 'global' || this.layout === 'runsheet')) {
      const track = element('span', 'clock-progress');
      progress = element('i', '');
      track.append(progress);
      root.append(track);
    }
    this.clocks.append(root);
    return { id, root, time, badge, meta, face, progress, name: nameText, phaseLabel, phase: null };
  }

  private bindControls(): void {
    const on = (id: string, action: () => Promise<unknown>): void => {
      const button = byId<HTMLButtonElement>(id);
      button.onclick = () => {
        button.blur();
        this.run(action);
      };
    };
    on('btn-start', () => this.handle.start({ expectedVersion: this.handle.state.version }));
    on('btn-pause', () => this.handle.pause({ expectedVersion: this.handle.state.version }));
    on('btn-resume', () => this.handle.resume({ expectedVersion: this.handle.state.version }));
    on('btn-next', () => this.handle.switch({ expectedVersion: this.handle.state.version }));
    on('btn-finish', () => this.handle.complete());
    on('btn-plus', () => this.handle.adjust({ deltaMs: ADJUST_STEP_MS }));
    on('btn-minus', async () => {
      // In overtime nothing is left to take: the clock already counts below zero.
      const takeMs = Math.min(ADJUST_STEP_MS, this.adjustableMs());
      if (takeMs > 0) await this.handle.adjust({ deltaMs: -takeMs });
    });
    on('btn-share', () => this.share());
    on('btn-flip', async () => this.setFacing(this.clocks.dataset.facing !== 'true'));
    byId('btn-flip').hidden = !(this.layout === 'players' && this.panels.length === 2);
    byId('runsheet').hidden = this.layout !== 'runsheet';
    this.setFacing(readFlag(FACING_KEY));
    setText(
      byId('key-hint'),
      this.layout === 'players'
        ? 'Space: switch · P: pause'
        : this.layout === 'runsheet'
          ? 'Space: start, next cue · P: pause'
          : 'Space: start, pause, resume',
    );
    document.addEventListener('keydown', this.onKey);
    document.addEventListener('keyup', this.onKeyUp);
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  // ---- Acting ----

  /** A tap on a player's clock: the player to move taps their own clock when done. */
  private tap(participantId: string): void {
    const state = this.handle.state;
    if (state.status === 'pending') {
      this.run(() => this.handle.start({ expectedVersion: state.version }));
    } else if (state.status === 'running' && state.active_participant_id === participantId) {
      this.run(() => this.handle.switch({ expectedVersion: state.version }));
    }
  }

  private readonly onKey = (event: KeyboardEvent): void => {
    if (event.target instanceof HTMLInputElement || event.metaKey || event.ctrlKey || event.altKey) return;
    const state = this.handle.state;
    if (event.code === 'Space') {
      // The default would also click whatever button has the focus.
      event.preventDefault();
      if (event.repeat) return;
      if (state.status === 'pending') this.run(() => this.handle.start({ expectedVersion: state.version }));
      else if (this.layout !== 'stage' && state.status === 'running')
        this.run(() => this.handle.switch({ expectedVersion: state.version }));
      else this.togglePause(state);
    } else if (event.key === 'p' || event.key === 'P') {
      this.togglePause(state);
    }
  };

  private readonly onKeyUp = (event: KeyboardEvent): void => {
    if (event.code === 'Space' && !(event.target instanceof HTMLInputElement)) event.preventDefault();
  };

  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'visible') void this.updateWakeLock(this.handle.state);
  };

  /** Face to face: the first clock is turned to the player across the table (portrait only). */
  private setFacing(facing: boolean): void {
    this.clocks.dataset.facing = String(facing);
    byId('btn-flip').setAttribute('aria-pressed', String(facing));
    try {
      localStorage.setItem(FACING_KEY, String(facing));
    } catch {
      // Private mode: the choice lasts for this page only.
    }
  }

  private togglePause(state: SessionView): void {
    if (state.status === 'running') this.run(() => this.handle.pause({ expectedVersion: state.version }));
    else if (state.status === 'paused')
      this.run(() => this.handle.resume({ expectedVersion: state.version }));
  }

  private run(action: () => Promise<unknown>): void {
    if (this.busy) return;
    this.busy = true;
    action()
      .catch((err: unknown) => this.reportCommandError(err))
      .finally(() => (this.busy = false));
  }

  private reportCommandError(err: unknown): void {
    if (!(err instanceof SyncKairosApiError)) {
      toast(String(err));
      return;
    }
    // Somebody else acted first: their change arrives as a STATE, nothing to say.
    if (err.code === 'VERSION_CONFLICT') return;
    if (err.code === 'DISCONNECTED') toast('Not sent: the connection is down, reconnecting…');
    else toast(err.message);
  }

  private adjustableMs(): number {
    return Math.max(0, Math.floor(this.handle.sessionRemaining() ?? 0));
  }

  private async share(): Promise<void> {
    const url = shareUrl(location.origin, this.handle.sessionId);
    const nav = navigator as Navigator & { share?: (data: ShareData) => Promise<void> };
    // The share sheet on phones; the clipboard elsewhere; the link itself if neither is allowed.
    if (typeof nav.share === 'function' && matchMedia('(pointer: coarse)').matches) {
      try {
        await nav.share({ title: 'SyncKairos clock', url });
        return;
      } catch (err) {
        if (err instanceof DOMException && err.name === 'AbortError') return;
      }
    }
    try {
      await navigator.clipboard.writeText(url);
      toast(`Link copied: ${url}`);
    } catch {
      toast(url, 10_000);
    }
  }

  // ---- Drawing ----

  /** Everything that changes with a STATE: whose turn, status, flags, buttons, the banner. */
  private render(state: SessionView): void {
    const clocks = this.clocks;
    clocks.dataset.status = state.status;
    clocks.dataset.version = String(state.version);
    clocks.dataset.active = state.active_participant_id ?? '';
    const running = state.status === 'running';
    const oneClock = this.layout !== 'players';
    for (const panel of this.panels) {
      const participant = state.participants.find((p) => p.participant_id === panel.id);
      const isActive = oneClock ? state.status !== 'pending' : (participant?.is_active ?? false);
      const expired = oneClock
        ? state.status === 'expired' || state.participants.every((p) => p.has_expired)
        : (participant?.has_expired ?? false);
      if (this.layout === 'runsheet') setText(panel.name, currentCue(state)?.label ?? '');
      panel.root.dataset.active = String(isActive);
      panel.root.dataset.running = String(isActive && running);
      panel.root.dataset.expired = String(expired);
      setText(panel.badge, this.badgeText(state, isActive, expired));
      setText(panel.meta, this.metaText(state, panel.id));
      if (panel.root instanceof HTMLButtonElement) {
        panel.root.setAttribute(
          'aria-label',
          `${displayName(panel.id)}${isActive && running ? ', running: tap when your move is done' : ''}`,
        );
      }
    }
    this.renderControls(state);
    if (this.layout === 'runsheet') this.renderRunSheet(state);
    setText(byId('banner'), this.bannerText(state));
    void this.updateWakeLock(state);
    this.drawTimes();
  }

  private badgeText(state: SessionView, isActive: boolean, expired: boolean): string {
    const oneClock = this.layout !== 'players';
    if (expired) return oneClock ? 'Time' : 'Flag';
    if (!isActive) return '';
    switch (state.status) {
      case 'pending':
        return oneClock ? '' : 'First to move';
      case 'running':
        return oneClock ? 'Running' : 'To move';
      case 'paused':
        return 'Paused';
      default:
        return '';
    }
  }

  private metaText(state: SessionView, id: string): string {
    if (this.layout === 'runsheet') {
      const cue = currentCue(state);
      const count = state.cycles?.length ?? 0;
      return `Cue ${(state.cycle_index ?? 0) + 1} of ${count} · of ${formatCountdown(cue?.planned_ms ?? 0)}`;
    }
    if (this.layout === 'stage') {
      if (state.sync_mode === 'count_up')
        return state.max_time_ms === null ? 'Stopwatch' : `Up to ${formatCountdown(state.max_time_ms)}`;
      return state.total_time_ms === null ? '' : `of ${formatCountdown(state.total_time_ms)}`;
    }
    const participant = state.participants.find((p) => p.participant_id === id);
    const moves = participant?.cycle_count ?? 0;
    const parts = [`${moves} ${moves === 1 ? 'move' : 'moves'}`];
    const control = participant?.time_control ?? state.time_control;
    const describedControl = control === undefined ? null : describeControl(control);
    if (describedControl !== null) parts.push(describedControl);
    else if (state.increment_ms > 0) parts.push(`+${state.increment_ms / 1000} s`);
    return parts.join(' · ');
  }

  private bannerText(state: SessionView): string {
    const active = state.active_participant_id === null ? '' : displayName(state.active_participant_id);
    const stage = this.layout !== 'players';
    switch (state.status) {
      case 'pending':
        if (this.layout === 'runsheet') return 'Ready. Start runs the first cue on every screen.';
        return stage
          ? 'Ready. Start runs the clock on every screen.'
          : `Ready. Start runs ${active}'s clock; after each move, tap your own clock.`;
      case 'running':
        return stage ? '' : `${active} to move`;
      case 'paused':
        return 'Paused';
      case 'expired': {
        if (stage) return "Time's up";
        const flagged = state.participants.find((p) => p.has_expired);
        const others = state.participants.filter((p) => !p.has_expired);
        const name = displayName(flagged?.participant_id ?? '');
        return others.length === 1
          ? `${name}'s flag fell: ${displayName(others[0]?.participant_id ?? '')} wins on time`
          : `${name}'s flag fell`;
      }
      case 'completed':
        return 'Finished';
      case 'cancelled':
        return 'This clock was cancelled';
    }
  }

  private renderControls(state: SessionView): void {
    const show = (id: string, visible: boolean): void => {
      byId(id).hidden = !visible;
    };
    const ended = state.status === 'expired' || state.status === 'completed' || state.status === 'cancelled';
    const live = state.status === 'running' || state.status === 'paused';
    const adjustable =
      (this.layout === 'stage' && state.sync_mode === 'global' && !ended) ||
      (this.layout === 'runsheet' && live);
    show('btn-start', state.status === 'pending');
    show('btn-pause', state.status === 'running');
    show('btn-resume', state.status === 'paused');
    show('btn-next', this.layout === 'runsheet' && live);
    const lastCue = (state.cycle_index ?? 0) + 1 >= (state.cycles?.length ?? 0);
    setText(byId('btn-next'), lastCue ? 'End last cue' : 'Next cue');
    // A countdown into overtime runs until somebody ends it.
    show('btn-finish', this.layout === 'stage' && state.on_expire === 'overtime' && live);
    show('btn-plus', adjustable);
    show('btn-minus', adjustable);
    show('btn-new', ended);
  }

  /** The cue list: what ran (planned, actual, over or under), what runs, what is next; the drift. */
  private renderRunSheet(state: SessionView): void {
    const cues = state.cycles ?? [];
    const index = state.cycle_index ?? 0;
    const ended = !(state.status === 'pending' || state.status === 'running' || state.status === 'paused');
    const live = state.status === 'running' || state.status === 'paused';
    const rows = cues.map((cue, i) => {
      const row = element('li', 'cue');
      row.dataset.index = String(i);
      row.dataset.cue = cueProgress(cue, i, index, ended);
      const label = element('span', 'cue-label', cue.label);
      const planned = element('span', 'cue-planned', formatCountdown(cue.planned_ms));
      const actual = element(
        'span',
        'cue-actual',
        cue.actual_ms === null ? '' : formatCountdown(cue.actual_ms),
      );
      const overUnder = element(
        'span',
        'cue-over-under',
        cue.over_under_ms === null ? '' : formatOverUnder(cue.over_under_ms),
      );
      if (cue.actual_ms !== null) row.dataset.actualMs = String(cue.actual_ms);
      if (cue.over_under_ms !== null) {
        row.dataset.overUnderMs = String(cue.over_under_ms);
        overUnder.dataset.sign = cue.over_under_ms > 0 ? 'over' : cue.over_under_ms < 0 ? 'under' : 'even';
      }
      row.append(label, planned, actual, overUnder);
      // An operator may jump ahead: the cues in between are skipped.
      if (live && i > index + 1) {
        const go = element('button', 'cue-go', 'Go');
        go.type = 'button';
        go.setAttribute('aria-label', `Go to ${cue.label}`);
        go.onclick = () =>
          this.run(() => this.handle.switch({ expectedVersion: state.version, nextCycleIndex: i }));
        row.append(go);
      }
      return row;
    });
    byId('runsheet-cues').replaceChildren(...rows);
    const next = ended ? undefined : cues[index + 1];
    setText(
      byId('runsheet-next'),
      next === undefined ? '—' : `${next.label} (${formatCountdown(next.planned_ms)})`,
    );
    const drift = byId('runsheet-drift');
    const driftMs = state.over_under_ms ?? 0;
    drift.dataset.ms = String(driftMs);
    setText(drift, formatOverUnder(driftMs));
  }

  /**
   * The drift the show would have if the running cue ended now: the cues that ended plus this
   * one's wall-clock time so far (a pause included) against its plan.
   */
  private drawProjectedDrift(state: SessionView, serverNowMs: number): void {
    const projected = byId('runsheet-projected');
    const cue = currentCue(state);
    const live = state.status === 'running' || state.status === 'paused';
    if (!live || cue === undefined || state.cycle_started_at === null) {
      setText(projected, '—');
      return;
    }
    const soFarMs = Math.max(0, serverNowMs - state.cycle_started_at);
    const projectedMs = (state.over_under_ms ?? 0) + soFarMs - cue.planned_ms;
    setText(projected, formatOverUnder(projectedMs));
  }

  private renderSync(): void {
    setText(byId('sync-offset'), formatOffset(this.handle.offsetMs));
    const uncertainty = byId('sync-uncertainty');
    uncertainty.dataset.ms = String(this.handle.uncertaintyMs);
    setText(uncertainty, formatSmallDuration(this.handle.uncertaintyMs));
    setText(byId('sync-rtt'), formatSmallDuration(this.handle.roundTripMs));
  }

  private readonly frame = (): void => {
    this.drawTimes();
    this.frameId = requestAnimationFrame(this.frame);
  };

  /**
   * The digits at this instant of server time. The exact values drawn are kept in data
   * attributes with the server time and the local time of the frame, so a test can compare
   * two screens at one instant.
   */
  private drawTimes(): void {
    const state = this.handle.state;
    const serverNowMs = this.handle.now();
    const drawnAtMs = performance.timeOrigin + performance.now();
    let title = '';
    let longest = 0;
    for (const panel of this.panels) {
      const remainingMs = this.remainingOf(panel.id, serverNowMs);
      if (remainingMs === null) {
        setText(panel.time, '—');
        continue;
      }
      const face = this.layout === 'players' ? this.handle.clockFace(panel.id, serverNowMs) : null;
      // Byo-yomi: once main time is spent, the big digits count the period down.
      const shownMs =
        face?.periods_left !== undefined && remainingMs <= 0 && face.period_remaining_ms !== undefined
          ? face.period_remaining_ms
          : remainingMs;
      if (face !== null) this.drawFace(panel, face);
      const text =
        this.layout !== 'players'
          ? this.stageText(state, remainingMs)
          : shownMs < 0
            ? `−${formatClock(-shownMs)}`
            : formatClock(shownMs);
      setText(panel.time, text);
      longest = Math.max(longest, text.length);
      panel.root.dataset.remainingMs = remainingMs.toFixed(1);
      this.drawPhase(panel, this.phaseOf(panel.id, state, serverNowMs), serverNowMs);
      if (panel.progress !== null) {
        const totalMs =
          (this.layout === 'runsheet' ? currentCue(state)?.planned_ms : state.total_time_ms) ?? remainingMs;
        const left = totalMs > 0 ? Math.min(1, remainingMs / totalMs) : 0;
        panel.progress.style.transform = `scaleX(${left.toFixed(4)})`;
      }
      if (panel.root.dataset.active === 'true') title = text;
    }
    if (this.layout === 'runsheet') this.drawProjectedDrift(state, serverNowMs);
    // Every clock gets the size that fits the longest one, so two players' digits match.
    const digits = longest >= 8 ? '8' : longest >= 6 ? '7' : longest === 5 ? '5' : '4';
    if (this.clocks.dataset.digits !== digits) this.clocks.dataset.digits = digits;
    this.clocks.dataset.serverMs = serverNowMs.toFixed(1);
    this.clocks.dataset.drawnAtMs = drawnAtMs.toFixed(1);
    if (title !== this.lastTitle) {
      this.lastTitle = title;
      document.title = title === '' ? 'SyncKairos' : `${title} · SyncKairos`;
    }
  }

  /** What the time control adds to a player's clock: the delay counting down, the periods, the stage. */
  private drawFace(panel: ClockPanel, face: LocalClockFace): void {
    const parts: string[] = [];
    if (face.delay_remaining_ms !== undefined) {
      parts.push(`delay ${formatClock(face.delay_remaining_ms)}`);
      panel.face.dataset.delayMs = String(Math.round(face.delay_remaining_ms));
    }
    if (face.periods_left !== undefined) {
      const inPeriods = (face.time_remaining_ms ?? 0) <= 0;
      parts.push(
        `${inPeriods ? 'byo-yomi · ' : ''}${face.periods_left} × ${formatClock(face.period_remaining_ms ?? 0)}`,
      );
      panel.face.dataset.periodsLeft = String(face.periods_left);
    }
    if (face.stage_index !== undefined) {
      const next = face.moves_to_next_stage;
      parts.push(`stage ${face.stage_index + 1}${next ? ` · ${next} to go` : ''}`);
      panel.face.dataset.stage = String(face.stage_index);
    }
    setText(panel.face, parts.join(' · '));
  }

  private remainingOf(id: string, serverNowMs: number): number | null {
    if (id !== 'session') return this.handle.remaining(id, serverNowMs);
    return this.handle.state.sync_mode === 'count_up'
      ? this.handle.elapsed(serverNowMs)
      : this.handle.sessionRemaining(serverNowMs);
  }

  private stageText(state: SessionView, ms: number): string {
    // A stopwatch shows whole seconds gone; a countdown, whole seconds left.
    return state.sync_mode === 'count_up'
      ? formatCountdown(Math.floor(ms / 1000) * 1000)
      : formatCountdown(ms);
  }

  /**
   * A clock's phase at this frame's server time: the session's own thresholds, as the SDK
   * computes them, so every screen's colour changes at the crossing, not when a STATE arrives.
   */
  private phaseOf(id: string, state: SessionView, serverNowMs: number): string | null {
    // Colours tell what is at stake now; after the end only the flag speaks.
    if (state.status !== 'running' && state.status !== 'paused') return null;
    return id === 'session' ? this.handle.sessionPhase(serverNowMs) : this.handle.phase(id, serverNowMs);
  }

  /**
   * The phase as the class `phase-<name>` (names are `[a-z0-9_-]`, safe as classes) and its name
   * beside the clock's; a name styles.css does not know is drawn neutral. `data-phase-at-ms` keeps
   * the server time of the frame that first drew it.
   */
  private drawPhase(panel: ClockPanel, phase: string | null, serverNowMs: number): void {
    if (panel.phase === phase) return;
    const root = panel.root;
    if (panel.phase !== null) root.classList.remove(`phase-${panel.phase}`);
    if (phase !== null) root.classList.add(`phase-${phase}`);
    root.classList.toggle('phase-other', phase !== null && !STYLED_PHASES.has(phase));
    root.dataset.phase = phase ?? '';
    root.dataset.phaseAtMs = serverNowMs.toFixed(1);
    setText(panel.phaseLabel, phase ?? '');
    panel.phase = phase;
  }

  /** Keeps a phone's screen on while a clock runs. */
  private async updateWakeLock(state: SessionView): Promise<void> {
    const wakeLock = (navigator as Navigator & { wakeLock?: WakeLock }).wakeLock;
    if (wakeLock === undefined) return;
    try {
      if (state.status === 'running' && this.wakeLock === null && document.visibilityState === 'visible') {
        this.wakeLock = await wakeLock.request('screen');
        this.wakeLock.addEventListener('release', () => (this.wakeLock = null));
      } else if (state.status !== 'running' && this.wakeLock !== null) {
        await this.wakeLock.release();
      }
    } catch {
      // Refused (battery saver, no user gesture yet): the clock works without it.
    }
  }
}

function stageLabel(state: SessionView): string {
  if (state.sync_mode === 'per_cycle') return currentCue(state)?.label ?? 'Cue';
  return state.sync_mode === 'count_up' ? 'Stopwatch' : 'Countdown';
}

function currentCue(state: SessionView): CueView | undefined {
  return state.cycles?.[state.cycle_index ?? 0];
}

/** A cue's place in the show: done (it ran), skipped, running (or next, before the start), upcoming. */
function cueProgress(cue: CueView, i: number, index: number, ended: boolean): string {
  if (cue.actual_ms !== null) return 'done';
  if (i < index || (ended && i <= index)) return 'skipped';
  return i === index ? 'running' : 'upcoming';
}

function readFlag(key: string): boolean {
  try {
    return localStorage.getItem(key) === 'true';
  } catch {
    return false;
  }
}

/** The control in a few words, beside the move count. */
function describeControl(control: TimeControl): string | null {
  const seconds = (ms: number) => `${ms / 1000} s`;
  switch (control.type) {
    case 'fischer':
      return control.increment_ms > 0 ? `+${seconds(control.increment_ms)}` : null;
    case 'delay':
      return `delay ${seconds(control.delay_ms)}`;
    case 'bronstein':
      return `Bronstein ${seconds(control.delay_ms)}`;
    case 'byoyomi':
      return `byo-yomi ${control.periods} × ${seconds(control.period_ms)}`;
    case 'canadian':
      return `${control.moves_per_period} moves in ${seconds(control.period_ms)}`;
    case 'stages':
      return `${control.stages.length} stages`;
    case 'hourglass':
      return 'hourglass';
  }
}
