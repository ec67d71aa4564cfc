// @synckairos/client/react: a session's live state in React. useSyncKairos re-renders on a new
// state or connection status only, never on every frame; useRemaining is the one hook that runs
// at animation-frame rate, and only in the components that call it.
import { createContext, createElement, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { connect, type ConnectionStatus, type ConnectOptions, type SyncKairosHandle } from './connect.js';
import type { SyncKairosApiError } from './errors.js';
import type { SessionView } from './wire/session.js';

export interface SyncKairosLive {
  /** The connected handle (commands, clock reads); null until connected. */
  handle: SyncKairosHandle | null;
  /** The last applied state; null until connected. */
  state: SessionView | null;
  /** `connecting` until the first state and clock sync are in. */
  status: ConnectionStatus | 'connecting';
  /** Why it stopped: a failed connect, a session that is gone, a refused token. */
  error: SyncKairosApiError | null;
}

const INITIAL: SyncKairosLive = { handle: null, state: null, status: 'connecting', error: null };

/**
 * Connects while the component is mounted (again when `url` or `sessionId` change) and closes on
 * unmount. The other options are read when it connects; a `token` function may change freely.
 */
export function useSyncKairos(options: ConnectOptions): SyncKairosLive {
  const [live, setLive] = useState<SyncKairosLive>(INITIAL);
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const { url, sessionId } = options;

  useEffect(() => {
    let handle: SyncKairosHandle | null = null;
    let unmounted = false;
    setLive(INITIAL);
    const token = optionsRef.current.token;
    connect({
      ...optionsRef.current,
      // The latest token function, whatever the render that connected.
      token: typeof token === 'function' ? () => (optionsRef.current.token as () => string)() : token,
    }).then(
      (connected) => {
        if (unmounted) return void connected.close();
        handle = connected;
        setLive({ handle, state: handle.state, status: handle.connectionStatus, error: null });
        handle.on('state', (state) => setLive((prev) => ({ ...prev, state })));
        handle.on('connection', (status, error) =>
          setLive((prev) => ({ ...prev, status, error: error ?? prev.error })),
        );
      },
      (error: SyncKairosApiError) => {
        if (!unmounted) setLive({ ...INITIAL, status: 'disconnected', error });
      },
    );
    return () => {
      unmounted = true;
      void handle?.close();
    };
  }, [url, sessionId]);

  return live;
}

const HandleContext = createContext<SyncKairosHandle | null>(null);

/** Makes a handle the one useRemaining() reads below it. */
export function SyncKairosProvider(props: {
  handle: SyncKairosHandle | null;
  children?: ReactNode;
}): ReactNode {
  return createElement(HandleContext.Provider, { value: props.handle }, props.children);
}

/**
 * A participant's remaining time, recomputed every animation frame (the handle from the nearest
 * SyncKairosProvider, or the one given); re-renders only when the value changes, so a clock
 * that does not run costs nothing. Null until connected, or for an unknown participant.
 */
export function useRemaining(participantId: string, handle?: SyncKairosHandle | null): number | null {
  const fromContext = useContext(HandleContext);
  const source = handle === undefined ? fromContext : handle;
  const [remainingMs, setRemainingMs] = useState<number | null>(
    () => source?.remaining(participantId) ?? null,
  );

  useEffect(() => {
    if (source === null) {
      setRemainingMs(null);
      return;
    }
    let frame = 0;
    const tick = (): void => {
      // Equal values bail out of the render in React.
      setRemainingMs(source.remaining(participantId));
      frame = requestAnimationFrame(tick);
    };
    tick();
    return () => cancelAnimationFrame(frame);
  }, [source, participantId]);

  return remainingMs;
}
