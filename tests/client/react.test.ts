// @vitest-environment happy-dom
// The React hooks in a DOM: useSyncKairos re-renders on a new state, not on every frame;
// useRemaining runs at animation-frame rate in the components that use it, and only there.
import { createElement, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionView } from '@synckairos/client';
import { SyncKairosProvider, useRemaining, useSyncKairos } from '@synckairos/client/react';
import { ScriptedSocket, scriptedState } from '../helpers/scriptedSocket.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/** A running per_participant state: `a`'s clock runs from now. */
function runningState(version: number): SessionView {
  return {
    ...scriptedState(version),
    sync_mode: 'per_participant',
    time_remaining_ms: undefined,
    participants: [
      {
        participant_id: 'a',
        group_id: null,
        time_remaining_ms: 60_000,
        time_used_ms: 0,
        cycle_count: 0,
        is_active: true,
        has_expired: false,
      },
    ],
  };
}

const options = { url: 'http://scripted.test', sessionId: 's', WebSocket: ScriptedSocket };

describe('React hooks', () => {
  let root: Root | null = null;
  let container: HTMLElement;

  afterEach(async () => {
    root?.unmount();
    root = null;
    await sleep(20);
    ScriptedSocket.opened = [];
    ScriptedSocket.version = 1;
  });

  function mount(node: ReactNode): void {
    container = document.createElement('div');
    document.body.append(container);
    root = createRoot(container);
    root.render(node);
  }

  it('useSyncKairos shows each new state and status, and does not re-render between them', async () => {
    let renders = 0;
    function Board(): ReactNode {
      const live = useSyncKairos(options);
      renders++;
      return createElement('p', null, `${live.status} v${live.state?.version ?? '-'}`);
    }
    mount(createElement(Board));
    await waitFor(() => container.textContent === 'connected v1');
    const rendersWhenConnected = renders;
    await sleep(200); // a dozen animation frames
    expect(renders).toBe(rendersWhenConnected);

    ScriptedSocket.opened[0]!.deliver({ type: 'STATE', state: scriptedState(2) });
    await waitFor(() => container.textContent === 'connected v2');
    expect(renders).toBe(rendersWhenConnected + 1);
  });

  it('useRemaining counts down every frame in the component that uses it, and re-renders nothing else', async () => {
    ScriptedSocket.version = 1;
    let parentRenders = 0;
    let siblingRenders = 0;
    const shown: number[] = [];
    function Clock(): ReactNode {
      const remainingMs = useRemaining('a');
      if (remainingMs !== null) shown.push(remainingMs);
      return createElement('span', null, String(remainingMs));
    }
    function Sibling(): ReactNode {
      siblingRenders++;
      return createElement('span', null, 'name');
    }
    function Game(): ReactNode {
      const live = useSyncKairos(options);
      parentRenders++;
      return createElement(
        SyncKairosProvider,
        { handle: live.handle },
        createElement('i', null, live.status),
        createElement(Sibling),
        createElement(Clock),
      );
    }
    mount(createElement(Game));
    await waitFor(() => container.textContent?.startsWith('connected') === true);
    ScriptedSocket.opened.at(-1)!.deliver({ type: 'STATE', state: runningState(2) });
    await waitFor(() => shown.some((ms) => ms < 60_000));
    const parentBefore = parentRenders;
    const siblingBefore = siblingRenders;
    const shownBefore = shown.length;
    await sleep(300);
    expect(shown.length - shownBefore).toBeGreaterThanOrEqual(5);
    expect(shown.at(-1)!).toBeLessThan(shown[shownBefore - 1]!);
    expect(parentRenders).toBe(parentBefore);
    expect(siblingRenders).toBe(siblingBefore);
  });
});
