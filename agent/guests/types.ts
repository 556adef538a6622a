// The contract between the switch and whatever sits behind a VIF: a userspace
// host stack (emulated), a TAP device for a VM, or a namespace guest.
import type { Headroom } from '../native/headroom.ts';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { VifSpec, VnetSpec } from '../state.ts';

export type { VifSpec, VnetSpec } from '../state.ts';

export interface GuestPort {
  readonly id: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Switch → guest: one Ethernet frame, no FCS. Must not throw. */
  deliver(frame: Buffer): void;
  /** Guest → switch; assigned by the switch before start(). */
  onFrame: (frame: Buffer) => void;
  /** Optional in-place change (address, MTU, version); without it the agent restarts the guest. */
  update?(vif: VifSpec): Promise<void>;
  /** The kernel interface behind the VIF (TAP guests): what an operator looks for with `ip link`. */
  readonly device?: GuestDevice;
  /**
   * A VM's TAP or a namespace guest's veth host end (both in the agent's
   * namespace): the packet socket the agent reads its frames from, where the
   * kernel fast path attaches its filter (agent/bpf/); -1 otherwise.
   */
  readonly packetFd?: number;
}

export interface GuestDevice {
  ifname: string;
  /** The guest's network namespace, or null for a VM's TAP in the host namespace. */
  netns: string | null;
  /** A namespace guest on a veth pair: the pair's end in the agent's namespace. */
  host?: string;
}

/** What a guest gets from the agent when it is created. */
export interface GuestContext {
  logger: Logger;
  counters: Counters;
  /** The vnet's MTU when the state gives one (a VIF's own `mtu` wins). */
  mtu?: number;
  vnet?: VnetSpec;
  /** The reader batch owner shared with the switch (agent/native/headroom.ts): TAP frames are encapsulated in place. */
  headroom?: Headroom;
  /** Namespace guests on a veth pair instead of a TAP (the kernel fast path can carry them): agent/guests/tap.ts. */
  veth?: boolean;
}
