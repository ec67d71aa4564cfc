// The home page: choose a chess clock or a stage countdown, create it, go to its shareable page.
import { createClient, SyncKairosApiError, type CreateSessionInput } from '@synckairos/client';
import { byId } from './dom.js';
import { newSessionId } from './links.js';

export type ClockKind = 'chess' | 'countdown';

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

/** The session a form's choice makes. Chess: white and black, white to move first. */
export function sessionInput(
  kind: ClockKind,
  minutes: number,
  incrementSeconds: number,
  control: ChessControl = 'fischer',
): CreateSessionInput {
  const totalMs = Math.round(minutes * MINUTE_MS);
  if (kind === 'chess') {
    return {
      session_id: newSessionId('chess'),
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
      ...chessTime(control, totalMs, Math.round(incrementSeconds * 1000)),
      metadata: { demo: 'chess' },
    };
  }
  return {
    session_id: newSessionId('stage'),
    sync_mode: 'global',
    participants: [{ participant_id: 'stage' }],
    total_time_ms: totalMs,
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

  const kind = (): ClockKind =>
    (form.elements.namedItem('kind') as RadioNodeList).value === 'countdown' ? 'countdown' : 'chess';
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
  showKind();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const chosen = kind();
    const minutes = Number(input(chosen === 'chess' ? 'minutes' : 'countdown-minutes').value);
    const increment = chosen === 'chess' ? Number(input('increment').value) : 0;
    const chessControl = control();
    const problem = checkSettings(chosen, minutes, increment, chessControl);
    if (problem !== null) {
      showError(problem);
      return;
    }
    submit.disabled = true;
    void create(chosen, minutes, increment, chessControl).finally(() => (submit.disabled = false));
  });

  function showError(message: string): void {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  async function create(
    chosen: ClockKind,
    minutes: number,
    increment: number,
    chessControl: ChessControl,
  ): Promise<void> {
    // A random id can be taken (rarely); a fresh one is tried then.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const created = await client.createSession(sessionInput(chosen, minutes, increment, chessControl));
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
