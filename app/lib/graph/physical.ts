// The physical view: LAN segments as compound nodes holding their hosts,
// hosts holding the VMs placed on them, and tunnels between hosts labelled
// with live packet rates. Positions come from a deterministic grid so the
// same data always looks the same and updates never reshuffle the picture.
import type { EdgeEl, El, FarmDetail, NodeEl, Position } from './elements.ts';
import { countTunnels, tunnelRates, UNDERLAY_RX, UNDERLAY_TX, type HostLite, type Tunnel, type VmState } from './live.ts';
import { formatRate } from './rates.ts';

export const segmentNodeId = (segmentId: string | null) => `seg:${segmentId ?? 'none'}`;
export const hostNodeId = (hostId: string) => `host:${hostId}`;
export const vmNodeId = (vmId: string) => `pvm:${vmId}`;
export const tunnelEdgeId = (a: string, b: string) => `tun:${a}|${b}`;

export interface PhysicalVm {
  id: string;
  name: string;
  farmName: string;
  hostId: string;
  state: VmState;
}

export interface PhysicalInput {
  hosts: readonly HostLite[];
  vms: readonly PhysicalVm[];
  tunnels: readonly Tunnel[];
  /** Host id → counter rates per second (from the last two reports). */
  rates: ReadonlyMap<string, Record<string, number>>;
}

const VM_COLUMNS = 3;
const VM_DX = 90;
const VM_DY = 56;
const HOST_GAP = 110;
const SEGMENT_GAP = 160;

/** Placed VMs of all farms, flattened for the physical view. */
export function placedVms(farms: readonly FarmDetail[], states: ReadonlyMap<string, VmState>): PhysicalVm[] {
  return farms.flatMap((f) =>
    f.vms.flatMap((vm) =>
      vm.hostId ? [{ id: vm.id, name: vm.name, farmName: f.name, hostId: vm.hostId, state: states.get(vm.id) ?? 'undeployed' }] : [],
    ),
  );
}

export function physicalElements(input: PhysicalInput): El[] {
  const nodes: NodeEl[] = [];
  const edges: EdgeEl[] = [];
  const vmsByHost = new Map<string, PhysicalVm[]>();
  for (const vm of input.vms) {
    const list = vmsByHost.get(vm.hostId) ?? [];
    list.push(vm);
    vmsByHost.set(vm.hostId, list);
  }
  const segments = new Map<string | null, { name: string; hosts: HostLite[] }>();
  for (const h of [...input.hosts].sort((a, b) => a.name.localeCompare(b.name))) {
    const s = segments.get(h.segmentId) ?? { name: h.segmentName ?? 'no segment', hosts: [] };
    s.hosts.push(h);
    segments.set(h.segmentId, s);
  }
  const ordered = [...segments].sort(([a, x], [b, y]) => (a === null ? 1 : b === null ? -1 : x.name.localeCompare(y.name)));

  let segmentX = 0;
  for (const [segmentId, seg] of ordered) {
    const segId = segmentNodeId(segmentId);
    nodes.push({ group: 'nodes', data: { id: segId, kind: 'segment', label: seg.name }, classes: 'segment' });
    // Hosts on a grid about as wide as tall, so tunnels between them rarely cross a host.
    const columns = Math.max(1, Math.ceil(Math.sqrt(seg.hosts.length)));
    const placed = seg.hosts.map((h, i) => {
      const vms = [...(vmsByHost.get(h.id) ?? [])].sort((a, b) => `${a.farmName}/${a.name}`.localeCompare(`${b.farmName}/${b.name}`));
      const rows = Math.max(1, Math.ceil(vms.length / VM_COLUMNS));
      return { h, vms, col: i % columns, row: Math.floor(i / columns), w: Math.max(1, Math.min(vms.length, VM_COLUMNS)) * VM_DX, hgt: rows * VM_DY };
    });
    const colW: number[] = [];
    const rowH: number[] = [];
    for (const p of placed) {
      colW[p.col] = Math.max(colW[p.col] ?? 0, p.w);
      rowH[p.row] = Math.max(rowH[p.row] ?? 0, p.hgt);
    }
    const colX = (c: number) => colW.slice(0, c).reduce((a, w) => a + w + HOST_GAP, 0);
    const rowY = (r: number) => rowH.slice(0, r).reduce((a, hh) => a + hh + HOST_GAP, 0);
    for (const { h, vms, col, row } of placed) {
      const hostId = hostNodeId(h.id);
      const x0 = segmentX + colX(col);
      const y0 = rowY(row);
      const r = input.rates.get(h.id);
      const traffic = r && (r[UNDERLAY_TX] !== undefined || r[UNDERLAY_RX] !== undefined)
        ? ` · ↑${formatRate(r[UNDERLAY_TX] ?? 0)} ↓${formatRate(r[UNDERLAY_RX] ?? 0)} pkt/s`
        : '';
      const host: NodeEl = {
        group: 'nodes',
        data: {
          id: hostId, parent: segId, kind: 'host', hostId: h.id, name: h.name, label: `${h.name} (${h.address})${traffic}`,
          status: h.status, vmCount: vms.length,
        },
        classes: `host ${h.status}`,
      };
      if (vms.length === 0) host.position = { x: x0, y: y0 };
      nodes.push(host);
      vms.forEach((vm, i) => {
        const position: Position = { x: x0 + (i % VM_COLUMNS) * VM_DX, y: y0 + Math.floor(i / VM_COLUMNS) * VM_DY };
        nodes.push({
          group: 'nodes',
          data: { id: vmNodeId(vm.id), parent: hostId, kind: 'vm', vmId: vm.id, hostId: h.id, name: vm.name, label: vm.name, farm: vm.farmName, state: vm.state },
          position,
          classes: `vm ${vm.state}`,
        });
      });
    }
    segmentX += colX(colW.length) + SEGMENT_GAP;
  }

  const hostsById = new Map(input.hosts.map((h) => [h.id, h]));
  const perHost = countTunnels(input.tunnels);
  for (const t of input.tunnels) {
    if (!hostsById.has(t.a) || !hostsById.has(t.b)) continue;
    const r = tunnelRates(t, hostsById, input.rates, perHost);
    const label = r.ab === null && r.ba === null ? '' : `${formatRate(r.ab ?? 0)} ⇄ ${formatRate(r.ba ?? 0)} pkt/s`;
    edges.push({
      group: 'edges',
      data: { id: tunnelEdgeId(t.a, t.b), kind: 'tunnel', source: hostNodeId(t.a), target: hostNodeId(t.b), label, vnets: t.vnets.join(',') },
      classes: t.observed ? 'tunnel observed' : 'tunnel',
    });
  }
  return [...nodes, ...edges];
}

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** The host (id) whose box contains `p`, other than `except`; the smallest box wins. */
export function hostAt(p: Position, boxes: ReadonlyMap<string, Box>, except?: string): string | null {
  let best: { id: string; area: number } | null = null;
  for (const [id, b] of boxes) {
    if (id === except || p.x < b.x1 || p.x > b.x2 || p.y < b.y1 || p.y > b.y2) continue;
    const area = (b.x2 - b.x1) * (b.y2 - b.y1);
    if (!best || area < best.area) best = { id, area };
  }
  return best?.id ?? null;
}
