'use client';
// Local form state for one object: starts from the object's current values,
// starts over when the object changes on the server, and says whether the
// user has typed something not yet applied.
import { useEffect, useMemo, useState } from 'react';

export type DirtyReporter = (source: string, dirty: boolean) => void;

export function useDraft<T extends Record<string, unknown>>(initial: T, onDirty?: DirtyReporter, source = 'form') {
  const key = JSON.stringify(initial);
  const [draft, setDraft] = useState<T>(initial);
  const [base, setBase] = useState(key);
  if (base !== key) {
    // The object changed (applied, undone, or edited elsewhere): show its values.
    setBase(key);
    setDraft(initial);
  }
  const dirty = useMemo(() => JSON.stringify(draft) !== key, [draft, key]);
  useEffect(() => {
    onDirty?.(source, dirty);
  }, [dirty, onDirty, source]);
  useEffect(() => () => onDirty?.(source, false), [onDirty, source]);
  const set = <K extends keyof T>(k: K, v: T[K]) => setDraft((d) => ({ ...d, [k]: v }));
  return { draft, set, dirty, reset: () => setDraft(initial) };
}
