'use client';
// Saves node positions a short while after the last move (farm.saveLayout).
// Positions are not intent: saving never bumps the farm revision and never
// conflicts with someone editing the farm.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Position } from '../lib/graph/elements.ts';
import { errorInfo, type ApiClient } from '../lib/trpc.ts';

export const LAYOUT_SAVE_DELAY_MS = 700;

export function useLayoutSaver(client: ApiClient, farmId: string, collect: () => Record<string, Position>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const collectRef = useRef(collect);
  collectRef.current = collect;

  const flush = useCallback(async () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    try {
      await client.farm.saveLayout.mutate({ farmId, positions: collectRef.current() });
      setError(null);
      setPending(false);
    } catch (e) {
      setError(errorInfo(e).message);
      setPending(false);
    }
  }, [client, farmId]);

  const schedule = useCallback(() => {
    setPending(true);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => void flush(), LAYOUT_SAVE_DELAY_MS);
  }, [flush]);

  // Leaving the page within the delay still saves (the request outlives the component).
  useEffect(() => () => {
    if (timer.current) void flush();
  }, [flush]);

  return { schedule, flush, pending, error };
}
