// The shapes the kernel fast path's control plane takes in and gives out.
import type { Varp } from '../varp/index.ts';
import type { AgentState } from '../state.ts';
import type { SwitchPort } from '../switch/index.ts';
import type { CounterName } from './maps.ts';

export type DatapathMode = 'auto' | 'kernel' | 'userspace';

/** A VIF as the fast path needs it (agent/daemon/vifs.ts's runtime). */
export interface FastVif {
  spec: { id: string; vnet: number; limit?: unknown; securityGroups?: readonly string[]; guest: { kind: string } };
  mac: number;
  ip: number;
  error: string | null;
  guest: { device?: { ifname: string; netns: string | null; host?: string }; packetFd?: number } | null;
}

export interface KernelInputs {
  state: Pick<AgentState, 'underlay' | 'vnets'>;
  admitted: Iterable<string>;
  vifs: FastVif[];
  ports: SwitchPort[];
  varp: Varp | null;
}

export interface VifPath {
  path: 'kernel' | 'userspace';
  /** Why userspace (null on the kernel path). */
  reason: string | null;
}

export interface KernelView {
  mode: DatapathMode;
  active: boolean;
  /** Why the kernel path is off on this host (null while active). */
  reason: string | null;
  device: string | null;
  counters: Record<CounterName, number>;
}

