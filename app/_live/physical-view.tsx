'use client';
// Hosts grouped by LAN segment, VMs inside their host, tunnels with packet
// rates. Dragging a VM onto another host asks to migrate it there; anywhere
// else it snaps back.
import type { Core, EventObject, NodeSingular } from 'cytoscape';
import { useCallback, useMemo, useRef } from 'react';
import { GraphCanvas } from '../_components/graph-canvas.tsx';
import type { Position } from '../lib/graph/elements.ts';
import type { HostLite, Tunnel } from '../lib/graph/live.ts';
import { hostAt, physicalElements, type Box, type PhysicalVm } from '../lib/graph/physical.ts';
import { exposeGraph } from './graph-hook.ts';

export interface PhysicalViewProps {
  hosts: readonly HostLite[];
  vms: readonly PhysicalVm[];
  tunnels: readonly Tunnel[];
  rates: ReadonlyMap<string, Record<string, number>>;
  canMigrate: boolean;
  onMigrate(vmId: string, hostId: string, onCancel: () => void): void;
}

export function PhysicalView(p: PhysicalViewProps) {
  const elements = useMemo(
    () => physicalElements({ hosts: p.hosts, vms: p.vms, tunnels: p.tunnels, rates: p.rates }),
    [p.hosts, p.vms, p.tunnels, p.rates],
  );
  const propsRef = useRef(p);
  propsRef.current = p;

  const onReady = useCallback((cy: Core) => {
    let origin: Position | null = null;
    const hostBoxes = (except: string): Map<string, Box> => {
      const boxes = new Map<string, Box>();
      cy.nodes('.host').forEach((h) => {
        const id = String(h.data('hostId'));
        if (id !== except) boxes.set(id, h.boundingBox({}));
      });
      return boxes;
    };
    const onGrab = (e: EventObject) => {
      origin = { ...(e.target as NodeSingular).position() };
    };
    const onDrag = (e: EventObject) => {
      const n = e.target as NodeSingular;
      const target = hostAt(n.position(), hostBoxes(String(n.data('hostId'))));
      cy.nodes('.host').forEach((h) => {
        if (h.data('hostId') === target) h.addClass('drop-target');
        else h.removeClass('drop-target');
      });
    };
    const onFree = (e: EventObject) => {
      const n = e.target as NodeSingular;
      cy.nodes('.host').removeClass('drop-target');
      const back = origin;
      origin = null;
      const snapBack = () => {
        if (back && !n.removed()) n.position(back);
      };
      const target = hostAt(n.position(), hostBoxes(String(n.data('hostId'))));
      if (!target || !propsRef.current.canMigrate) return snapBack();
      propsRef.current.onMigrate(String(n.data('vmId')), target, snapBack);
    };
    cy.on('grab', 'node.vm', onGrab);
    cy.on('drag', 'node.vm', onDrag);
    cy.on('free', 'node.vm', onFree);
    // Hosts and segments are placed by the layout; only VMs move.
    cy.on('add', 'node.host, node.segment', (e) => (e.target as NodeSingular).ungrabify());
    const unexpose = exposeGraph('__softudcTopology', cy);
    return () => {
      unexpose();
      cy.removeListener('grab', 'node.vm', onGrab);
      cy.removeListener('drag', 'node.vm', onDrag);
      cy.removeListener('free', 'node.vm', onFree);
    };
  }, []);

  return (
    <>
      <p className="hint">Drag a VM onto another host to migrate it (or use the Table view). Hosts show underlay packets per second sent (↑) and received (↓).</p>
      <div className="live-canvas">
        <GraphCanvas elements={elements} label="Physical topology: LAN segments, hosts, VMs and tunnels" positions="follow" onReady={onReady} testId="physical-canvas" />
      </div>
    </>
  );
}
