'use client';
// Latest report per host, live from the host.reports subscription, plus the
// counter rates between consecutive reports of each host.
import { useSubscription } from '@trpc/tanstack-react-query';
import { useMemo, useState } from 'react';
import type { HostReportView } from '../lib/graph/live.ts';
import { emptyHistory, pushSample, type RateHistory } from '../lib/graph/rates.ts';
import { useTRPC } from '../lib/trpc.ts';

export interface LiveReports {
  reports: ReadonlyMap<string, HostReportView>;
  history: ReadonlyMap<string, RateHistory>;
  /** Host id → latest per-second rate of each counter. */
  rates: ReadonlyMap<string, Record<string, number>>;
  status: string;
  error: unknown;
}

export function useHostReports(opts: { hostId?: string; detail: 'summary' | 'full'; keep?: number }): LiveReports {
  const trpc = useTRPC();
  const [state, setState] = useState<{ reports: Map<string, HostReportView>; history: Map<string, RateHistory> }>(
    () => ({ reports: new Map(), history: new Map() }),
  );
  const sub = useSubscription(
    trpc.host.reports.subscriptionOptions(
      { hostId: opts.hostId, detail: opts.detail },
      {
        onData: (r) =>
          setState((s) => {
            const reports = new Map(s.reports).set(r.hostId, r);
            const history = new Map(s.history);
            if (r.report) {
              const h = history.get(r.hostId) ?? emptyHistory();
              history.set(r.hostId, pushSample(h, { at: r.report.receivedAt.getTime(), values: r.report.counters }, opts.keep ?? 60));
            }
            return { reports, history };
          }),
      },
    ),
  );
  const rates = useMemo(() => {
    const out = new Map<string, Record<string, number>>();
    for (const [id, h] of state.history) {
      const last: Record<string, number> = {};
      for (const [name, series] of Object.entries(h.series)) {
        const v = series.at(-1);
        if (v !== undefined) last[name] = v;
      }
      out.set(id, last);
    }
    return out;
  }, [state.history]);
  return { reports: state.reports, history: state.history, rates, status: sub.status, error: sub.error };
}
