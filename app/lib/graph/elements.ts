// Graph elements as plain data: what every view computes from API data with
// pure functions, and what the cytoscape adapter (apply.ts) turns into
// element diffs. Kept free of cytoscape and React so it runs in unit tests.
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../../server/routers/_app.ts';

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type FarmDetail = RouterOutputs['farm']['get'];
export type HostItem = RouterOutputs['host']['list']['items'][number];
export type SegmentItem = RouterOutputs['segment']['list']['items'][number];

export interface Position {
  x: number;
  y: number;
}

/** Data values are primitives so equality is cheap and diffs stay exact. */
export type DataValue = string | number | boolean | null;

export interface NodeEl {
  group: 'nodes';
  data: { id: string; parent?: string; [key: string]: DataValue | undefined };
  position?: Position;
  classes?: string;
}

export interface EdgeEl {
  group: 'edges';
  data: { id: string; source: string; target: string; [key: string]: DataValue | undefined };
  classes?: string;
}

export type El = NodeEl | EdgeEl;

export const isNode = (e: El): e is NodeEl => e.group === 'nodes';
export const isEdge = (e: El): e is EdgeEl => e.group === 'edges';

/** The kinds of node a farm drawing has; also the palette. */
export const FARM_NODE_KINDS = ['vm', 'vnet', 'router', 'firewall'] as const;
export type FarmNodeKind = (typeof FARM_NODE_KINDS)[number];

/** Edge kinds: a VM's VIF, a router or firewall interface, an inter-router link. */
export type FarmEdgeKind = 'vif' | 'routerInterface' | 'firewallInterface' | 'routerLink';
