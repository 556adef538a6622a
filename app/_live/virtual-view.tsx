'use client';
// One farm as deployed: its drawing from the designer, VMs coloured by the
// state agents report.
import type { Core } from 'cytoscape';
import { useQuery } from '@tanstack/react-query';
import { useCallback, useMemo } from 'react';
import { GraphCanvas } from '../_components/graph-canvas.tsx';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { farmElements } from '../lib/graph/farm-graph.ts';
import type { VmState } from '../lib/graph/live.ts';
import { useTRPC } from '../lib/trpc.ts';
import { exposeGraph } from './graph-hook.ts';

export function VirtualView({ farm, states }: { farm: FarmDetail; states: ReadonlyMap<string, VmState> }) {
  const trpc = useTRPC();
  const layout = useQuery({ ...trpc.farm.getLayout.queryOptions({ farmId: farm.id }), refetchOnWindowFocus: false });
  const elements = useMemo(
    () => (layout.data ? farmElements(farm, { positions: layout.data.positions, vmStates: states }) : []),
    [farm, layout.data, states],
  );
  const onReady = useCallback((cy: Core) => {
    cy.autoungrabify(true); // a view, not an editor
    return exposeGraph('__softudcVirtual', cy);
  }, []);
  // A different farm is a different drawing: a fresh canvas rather than a diff across farms.
  return (
    <div className="live-canvas">
      <GraphCanvas key={farm.id} elements={elements} label={`Virtual topology of farm ${farm.name}`} onReady={onReady} testId="virtual-canvas" />
    </div>
  );
}
