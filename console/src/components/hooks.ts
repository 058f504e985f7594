import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiError } from '../api';

export type Loaded<T> = { data?: T; error?: ApiError; loading: boolean; reload: () => void };

/**
 * Loads on mount and whenever `deps` change; with `refreshMs`, loads again that long after each answer
 * (never two requests at once), keeping the last data while a request fails (e.g. during a failover).
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((s) => ({ ...s, loading: true }));
    loadRef.current().then(
      (data) => alive && setState({ data, loading: false }),
      (error: ApiError) => alive && setState((s) => ({ data: s.data, error, loading: false })),
    ).finally(() => {
      if (alive && refreshMs) timer = setTimeout(() => setTick((t) => t + 1), refreshMs);
    });
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick, refreshMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
