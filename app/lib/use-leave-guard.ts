'use client';
// Asks before the user leaves a page with unsaved work: closing the tab or
// reloading (beforeunload), and following an in-app link (the app router has
// no navigation-blocking API, so link clicks are checked on the way down).
import { useEffect, useRef } from 'react';

export const LEAVE_MESSAGE = 'You have unsaved changes on this page. Leave anyway?';

/**
 * `dirty`: work that would be lost by leaving at all. `unloadOnly`: work that
 * finishes by itself on an in-app navigation (a pending save flushed on
 * unmount) but not when the tab closes.
 */
export function useLeaveGuard(dirty: boolean, unloadOnly = false, message = LEAVE_MESSAGE) {
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  const unloadRef = useRef(unloadOnly);
  unloadRef.current = unloadOnly;
  useEffect(() => {
    const beforeUnload = (e: BeforeUnloadEvent) => {
      if (!dirtyRef.current && !unloadRef.current) return;
      e.preventDefault();
      e.returnValue = message; // older browsers show their own text anyway
    };
    const click = (e: MouseEvent) => {
      if (!dirtyRef.current || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      const a = (e.target as Element | null)?.closest?.('a[href]') as HTMLAnchorElement | null;
      if (!a || a.target === '_blank' || a.origin !== window.location.origin) return;
      if (a.pathname === window.location.pathname && a.search === window.location.search) return;
      if (!window.confirm(message)) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    window.addEventListener('beforeunload', beforeUnload);
    document.addEventListener('click', click, true);
    return () => {
      window.removeEventListener('beforeunload', beforeUnload);
      document.removeEventListener('click', click, true);
    };
  }, [message]);
}
