'use client';
// A selected router's live state from the agent running it (router.inspect):
// forwarding table, ARP cache and counters, plus ping and traceroute from
// its own IP stack. Shown below the router's properties form.
import { useQuery } from '@tanstack/react-query';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { useTRPC } from '../lib/trpc.ts';
import { ArpTable, CountersTable, LiveFrame, liveQueryOptions, RoutesTable, toLiveQuery, useLiveOpen } from './live-common.tsx';
import { PingForm, TracerouteForm, type ProbeTarget } from './live-probes.tsx';

/** The farm's VM addresses, offered as probe targets. */
export function farmTargets(farm: FarmDetail): ProbeTarget[] {
  return farm.vms.flatMap((vm) => vm.vifs.map((f) => ({ ip: f.ip, label: `${vm.name}/${f.name}` })));
}

export function LiveRouter({ farm, routerId }: { farm: FarmDetail; routerId: string }) {
  const trpc = useTRPC();
  const deployed = farm.deployedRevision != null;
  const [open, toggle] = useLiveOpen();
  const q = useQuery({ ...trpc.router.inspect.queryOptions({ id: routerId }), ...liveQueryOptions(deployed && open) });
  const view = q.data?.view;
  const query = toLiveQuery(q, (d) => d.router.host.name);
  const targets = farmTargets(farm);
  const refresh = () => void q.refetch();
  return (
    <LiveFrame deployed={deployed} open={open} onToggle={toggle} query={query} testId="live-router">
      {view ? (
        <>
          <RoutesTable routes={view.routes} total={view.routesTotal} />
          {view.unresolvedStaticRoutes.length ? (
            <p className="hint">Static routes without a usable next hop: {view.unresolvedStaticRoutes.join(', ')}</p>
          ) : null}
          <ArpTable arp={view.arp} total={view.arpTotal} />
          <CountersTable counters={view.counters} />
        </>
      ) : null}
      <PingForm routerId={routerId} targets={targets} onDone={refresh} />
      <TracerouteForm routerId={routerId} targets={targets} onDone={refresh} />
    </LiveFrame>
  );
}
