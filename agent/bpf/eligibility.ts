// Which VIFs the kernel fast path may carry, and in words why not: what
// /v1/state shows next to each VIF.
import { readFileSync } from 'node:fs';
import type { FastVif, KernelInputs } from './types.ts';

const IFF_VNET_HDR = 0x4000;

/**
 * Whether the hypervisor attached to the TAP with the virtio-net header
 * (qemu vnet_hdr=on): the VM then hands over frames with a partial checksum,
 * which the kernel path would encapsulate unfinished; they stay in the agent,
 * which completes them (agent/guests/tap.ts).
 */
export function offloadedTap(ifname: string): boolean {
  try {
    return (Number.parseInt(readFileSync(`/sys/class/net/${ifname}/tun_flags`, 'utf8'), 16) & IFF_VNET_HDR) !== 0;
  } catch {
    return false;
  }
}

/** Per vnet: why its VIFs stay in userspace, or null when the kernel may carry them. */
export function vnetReasons(i: KernelInputs): Map<number, string | null> {
  return new Map(i.state.vnets.map((v) => [v.id, v.security !== 'none' ? 'vnet sealed' : v.vlan ? 'vnet has a VLAN uplink' : null]));
}

/** Why `v` stays in userspace (`vnet`: its vnet's reason), or null when the kernel may carry it. */
export function vifReason(v: FastVif, vnet: string | null | undefined, offloaded: (ifname: string) => boolean = offloadedTap): string | null {
  if (v.spec.guest.kind !== 'tap') return `${v.spec.guest.kind} guest`;
  if (vnet === undefined) return 'vnet unknown';
  if (vnet !== null) return vnet;
  if (v.spec.limit) return 'bandwidth limit';
  if (v.error !== null || !v.guest?.device) return 'guest not up';
  if (v.guest.device.netns !== null) return 'namespace guest (the kernel cannot redirect into another namespace)';
  if (v.guest.packetFd === undefined || v.guest.packetFd < 0) return 'guest not up';
  if (offloaded(v.guest.device.ifname)) return 'VM attached with vnet_hdr=on (offloaded frames stay in the agent)';
  return null;
}

