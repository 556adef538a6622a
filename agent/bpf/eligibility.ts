// Which VIFs the kernel fast path may carry, and in words why not: what
// /v1/state shows next to each VIF.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FastVif, KernelInputs } from './types.ts';

const run = promisify(execFile);

/**
 * The TAPs a hypervisor attached to with the virtio-net header (qemu
 * vnet_hdr=on), from netlink (the agent's network namespace; sysfs may show
 * another one): such a VM is an offloaded guest, which hands over partial
 * checksums and GSO super-packets and takes them (softudc.bpf.c, vif_val).
 * One `ip` call for all TAPs.
 */
export async function offloadedTaps(): Promise<Set<string>> {
  try {
    const { stdout } = await run('ip', ['-d', '-j', 'link', 'show', 'type', 'tun']);
    const links = JSON.parse(stdout) as { ifname: string; linkinfo?: { info_data?: { vnet_hdr?: boolean } } }[];
    return new Set(links.filter((l) => l.linkinfo?.info_data?.vnet_hdr === true).map((l) => l.ifname));
  } catch {
    return new Set();
  }
}

/** Per vnet: why its VIFs stay in userspace, or null when the kernel may carry them. */
export function vnetReasons(i: KernelInputs): Map<number, string | null> {
  return new Map(i.state.vnets.map((v) => [v.id, v.security !== 'none' ? 'vnet sealed' : v.vlan ? 'vnet has a VLAN uplink' : null]));
}

/** A namespace guest the agent attached with a TAP: the kernel path was off when it started, or TAP offloads are off. */
export const NAMESPACE_TAP = 'namespace guest on a TAP (the kernel path was off when it started, or SOFTUDC_TAP_OFFLOAD=0)';

/** The device in the agent's namespace the fast path sits on: a VM's TAP, or a namespace guest's veth host end. */
export function fastDevice(v: FastVif): string | null {
  const d = v.guest?.device;
  if (!d) return null;
  return d.netns === null ? d.ifname : d.host ?? null;
}

/** Why `v` stays in userspace (`vnet`: its vnet's reason), or null when the kernel may carry it. */
export function vifReason(v: FastVif, vnet: string | null | undefined): string | null {
  if (v.spec.guest.kind !== 'tap') return `${v.spec.guest.kind} guest`;
  if (vnet === undefined) return 'vnet unknown';
  if (vnet !== null) return vnet;
  if (v.spec.limit) return 'bandwidth limit';
  // The kernel path has no connection tracking: a filtered VIF's frames, both ways, go through the agent.
  if (v.spec.securityGroups !== undefined) return 'security groups';
  if (v.error !== null || !v.guest?.device) return 'guest not up';
  if (v.guest.device.netns !== null && !v.guest.device.host) return NAMESPACE_TAP;
  if (v.guest.packetFd === undefined || v.guest.packetFd < 0) return 'guest not up';
  return null;
}

