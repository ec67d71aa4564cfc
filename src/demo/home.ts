// The home page: choose a chess clock, a stage countdown or a run sheet, create it, go to its
// shareable page. The colours a clock turns are the session's own phases, chosen here.
import { createClient, SyncKairosApiError, type CreateSessionInput, type CueInput } from '@synckairos/client';
import { byId } from './dom.js';
import { newSessionId } from './links.js';

export type ClockKind = 'chess' | 'countdown' | 'runsheet';

const CLOCK_KINDS: readonly ClockKind[] = ['chess', 'countdown', 'runsheet'];

/** The chess clock's controls; the form's second number is what each gives per move. */
export const CHESS_CONTROLS = ['fischer', 'delay', 'bronstein', 'byoyomi', 'stages'] as const;
export type ChessControl = (typeof CHESS_CONTROLS)[number];

const PER_MOVE_LABELS: Record<ChessControl, string> = {
  fischer: 'Increment, seconds',
  delay: 'Delay, seconds',
  bronstein: 'Delay, seconds',
  byoyomi: 'Period, seconds',
  stages: 'Increment, seconds',
};

const BYOYOMI_PERIODS = 5;
const FIRST_STAGE_MOVES = 40;

/** A chess clock's time: the shorthand for plain Fischer, else a time_control. */
function chessTime(control: ChessControl, totalMs: number, perMoveMs: number): Partial<CreateSessionInput> {
  switch (control) {
    case 'fischer':
      return { total_time_ms: totalMs, increment_ms: perMoveMs };
    case 'delay':
    case 'bronstein':
      return { time_control: { type: control, initial_ms: totalMs, delay_ms: perMoveMs } };
    case 'byoyomi':
      return {
        time_control: {
          type: 'byoyomi',
          initial_ms: totalMs,
          period_ms: perMoveMs,
          periods: BYOYOMI_PERIODS,
        },
      };
    case 'stages':
      return {
        time_control: {
          type: 'stages',
          stages: [
            { moves: FIRST_STAGE_MOVES, time_ms: totalMs, increment_ms: perMoveMs },
            { time_ms: Math.round(totalMs / 2), increment_ms: perMoveMs },
          ],
        },
      };
  }
}

const MINUTE_MS = 60_000;

type PhaseInput = NonNullable<CreateSessionInput['phases']>[number];

/** A player's clock turns red in its last ten seconds. */
const CHESS_PHASES: PhaseInput[] = [{ name: 'danger', remaining_ms: 10_000 }];

/**
 * A stage countdown's phases: amber for the last minute, red for the last ten seconds; a short
 * countdown scales them down (the last fifth, the last tenth), so each phase is seen.
 */
export function stagePhases(totalMs: number): PhaseInput[] {
  const warningMs = Math.min(MINUTE_MS, Math.round(totalMs / 5));
  const dangerMs = Math.min(10_000, Math.round(totalMs / 10));
  return dangerMs >= 1 && warningMs > dangerMs
    ? [
        { name: 'warning', remaining_ms: warningMs },
        { name: 'danger', remaining_ms: dangerMs },
      ]
    : [];
}

/** A cue's phases: amber for its last 30 seconds, red for its last 10. */
const CUE_PHASES: PhaseInput[] = [
  { name: 'warning', remaining_ms: 30_000 },
  { name: 'danger', remaining_ms: 10_000 },
];

/** The run sheet the form starts with, one cue a line: "label, minutes". */
export const DEFAULT_AGENDA = ['Welcome, 2', 'Keynote, 10', 'Q&A, 5', 'Close, 1'].join('\n');

/** A run sheet's lines as cues; a string says what is wrong with the first bad line. */
export function parseAgenda(text: string): CueInput[] | string {
  const cues: CueInput[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const match = /^(.+?)\s*,\s*(\d+(?:\.\d+)?)$/.exec(line);
    const minutes = Number(match?.[2]);
    if (match === null || !(minutes >= 0.01 && minutes <= 1440))
      return `Line ${index + 1}: write a cue as “label, minutes” (0.01 to 1440 minutes).`;
    cues.push({ label: (match[1] ?? '').slice(0, 128), duration_ms: Math.round(minutes * MINUTE_MS) });
  }
  if (cues.length === 0) return 'The run sheet needs at least one cue.';
  return cues;
}

/** The session a form's choice makes. Chess: white and black, white to move first. */
export function sessionInput(
  kind: ClockKind,
  minutes: number,
  incrementSeconds: number,
  control: ChessControl = 'fischer',
  options: { overtime?: boolean; cues?: CueInput[] } = {},
): CreateSessionInput {
  const totalMs = Math.round(minutes * MINUTE_MS);
  if (kind === 'chess') {
    return {
      session_id: newSessionId('chess'),
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
      ...chessTime(control, totalMs, Math.round(incrementSeconds * 1000)),
      phases: CHESS_PHASES,
      metadata: { demo: 'chess' },
    };
  }
  if (kind === 'runsheet') {
    // A stage manager moves on with "Next cue": a cue that runs over counts on below zero.
    return {
      session_id: newSessionId('cues'),
      sync_mode: 'per_cycle',
      participants: [{ participant_id: 'stage' }],
      cycles: options.cues ?? [],
      on_expire: 'overtime',
      phases: CUE_PHASES,
      metadata: { demo: 'runsheet' },
    };
  }
  const phases = stagePhases(totalMs);
  return {
    session_id: newSessionId('stage'),
    sync_mode: 'global',
    participants: [{ participant_id: 'stage' }],
    total_time_ms: totalMs,
    ...(phases.length > 0 ? { phases } : {}),
    ...(options.overtime ? { on_expire: 'overtime' as const } : {}),
    metadata: { demo: 'countdown' },
  };
}

/** Wires the form; `onCreated` opens the new session. */
export function initHome(options: { token?: string; onCreated: (sessionId: string) => void }): void {
  const form = byId<HTMLFormElement>('create-form');
  if (form.dataset.ready === 'true') return;
  form.dataset.ready = 'true';
  const errorBox = byId('create-error');
  const submit = byId<HTMLButtonElement>('create-button');
  const client = createClient({ url: location.origin, ...(options.token ? { token: options.token } : {}) });

  const kind = (): ClockKind => {
    const value = (form.elements.namedItem('kind') as RadioNodeList).value;
    return CLOCK_KINDS.find((k) => k === value) ?? 'chess';
  };
  const presets = form.querySelectorAll<HTMLButtonElement>('.presets button');
  const input = (name: string): HTMLInputElement => form.elements.namedItem(name) as HTMLInputElement;

  const control = (): ChessControl => {
    const value = (form.elements.namedItem('control') as HTMLSelectElement).value;
    return CHESS_CONTROLS.find((c) => c === value) ?? 'fischer';
  };
  const showKind = (): void => {
    byId('per-move-label').textContent = PER_MOVE_LABELS[control()];
    form.querySelectorAll<HTMLFieldSetElement>('fieldset[data-kind]').forEach((fieldset) => {
      fieldset.hidden = fieldset.dataset.kind !== kind();
    });
    markPreset();
  };
  // The preset matching the fields is highlighted, so the form says what it will create.
  const markPreset = (): void => {
    presets.forEach((preset) => {
      const fieldset = preset.closest('fieldset');
      const matches =
        fieldset?.dataset.kind === 'chess'
          ? preset.dataset.minutes === input('minutes').value &&
            preset.dataset.increment === input('increment').value
          : preset.dataset.minutes === input('countdown-minutes').value;
      preset.setAttribute('aria-pressed', String(matches));
    });
  };

  form.addEventListener('change', showKind);
  form.addEventListener('input', markPreset);
  presets.forEach((preset) => {
    preset.addEventListener('click', () => {
      if (preset.closest('fieldset')?.dataset.kind === 'chess') {
        input('minutes').value = preset.dataset.minutes ?? '5';
        input('increment').value = preset.dataset.increment ?? '0';
      } else {
        input('countdown-minutes').value = preset.dataset.minutes ?? '10';
      }
      markPreset();
    });
  });
  const agenda = form.elements.namedItem('agenda') as HTMLTextAreaElement;
  if (agenda.value.trim() === '') agenda.value = DEFAULT_AGENDA;
  showKind();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const chosen = kind();
    const minutes =
      chosen === 'runsheet' ? 1 : Number(input(chosen === 'chess' ? 'minutes' : 'countdown-minutes').value);
    const increment = chosen === 'chess' ? Number(input('increment').value) : 0;
    const chessControl = control();
    const cues = chosen === 'runsheet' ? parseAgenda(agenda.value) : [];
    const problem = typeof cues === 'string' ? cues : checkSettings(chosen, minutes, increment, chessControl);
    if (problem !== null) {
      showError(problem);
      return;
    }
    const options = {
      overtime: input('countdown-overtime').checked,
      cues: typeof cues === 'string' ? [] : cues,
    };
    submit.disabled = true;
    void create(() => sessionInput(chosen, minutes, increment, chessControl, options)).finally(
      () => (submit.disabled = false),
    );
  });

  function showError(message: string): void {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  /** `session` makes the input with a fresh random id each time. */
  async function create(session: () => CreateSessionInput): Promise<void> {
    // A random id can be taken (rarely); a fresh one is tried then.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const created = await client.createSession(session());
        options.onCreated(created.session_id);
        return;
      } catch (err) {
        if (err instanceof SyncKairosApiError && err.code === 'SESSION_EXISTS') continue;
        showError(describeCreateError(err));
        return;
      }
    }
    showError('Could not find a free session id; please try again.');
  }
}

function checkSettings(
  kind: ClockKind,
  minutes: number,
  incrementSeconds: number,
  control: ChessControl,
): string | null {
  const maxMinutes = kind === 'chess' ? 600 : 1440;
  if (!Number.isFinite(minutes) || minutes < 0.1 || minutes > maxMinutes)
    return `Minutes must be between 0.1 and ${maxMinutes}.`;
  if (!Number.isInteger(incrementSeconds) || incrementSeconds < 0 || incrementSeconds > 600)
    return 'The increment must be a whole number of seconds from 0 to 600.';
  if (kind === 'chess' && control !== 'fischer' && control !== 'stages' && incrementSeconds === 0)
    return `${PER_MOVE_LABELS[control].replace(', seconds', '')} must be at least 1 second.`;
  return null;
}

function describeCreateError(err: unknown): string {
  if (!(err instanceof SyncKairosApiError)) return `Could not create the clock: ${String(err)}`;
  if (err.status === 401 || err.status === 403)
    return 'This server requires a token (auth is on). Open the page as /#token=<your JWT>.';
  if (err.status === 429) return 'Too many clocks created from here; wait a minute and try again.';
  if (err.code === 'NETWORK_ERROR') return 'The server cannot be reached.';
  return `Could not create the clock: ${err.message}`;
}
