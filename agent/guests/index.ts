// Guest factory by `guest.kind` (docs/agent-state.md "vifs[].guest").
import { createEmulatedGuest, EmulatedGuest } from './emulated.ts';
import { createTapGuest } from './tap.ts';
import type { GuestContext, GuestPort, VifSpec } from './types.ts';

export type { GuestContext, GuestPort, VifSpec } from './types.ts';
export { EmulatedGuest } from './emulated.ts';
export { ProbeError, type PingOptions, type PingResult, type UdpStreamOptions, type UdpStreamResult } from './probe.ts';

export function createGuest(vif: VifSpec, ctx: GuestContext): GuestPort {
  switch (vif.guest.kind) {
    case 'emulated':
      return createEmulatedGuest(vif, ctx);
    case 'tap':
      return createTapGuest(vif, ctx);
  }
}

export function isEmulated(g: GuestPort): g is EmulatedGuest {
  return g instanceof EmulatedGuest;
}
