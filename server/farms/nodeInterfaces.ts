// What routers and firewalls share when interfaces are added: each on a vnet
// of the farm (one interface per vnet), an address and MAC given or assigned
// from the top of the vnet, a prefix length given or the vnet's, and no two of
// the node's connected prefixes overlapping (intentRules.ts checkConnected).
import { badRequest } from '../errors.ts';
import type { Tx } from './farmAccess.ts';
import { assignAddresses } from './ipam.ts';
import { checkConnected, interfacePrefix, type Connected } from './intentRules.ts';
import { checkPrefixLen, parseCidr, requireIpv4, VNET_PREFIX } from './validate.ts';
import { requireVnetInFarm, type VnetRef } from './vnets.ts';

export interface NodeInterfaceInput {
  vnetId: string;
  ip?: string | undefined;
  prefixLen?: number | undefined;
  mac?: string | undefined;
}

export interface PlannedInterface<I> {
  input: I;
  vnet: VnetRef;
  /** The address as assigned, and as a number. */
  ip: string;
  ipNumber: number;
  prefixLen: number;
  mac: string;
}

/** `base.name`, or `name` alone for a call about one interface. */
export const fieldAt = (base: string, name: string) => (base ? `${base}.${name}` : name);

/**
 * Plans new interfaces of the node `node` (e.g. "router r1"), which is
 * connected to `existing` already; `check` runs on each before its vnet is
 * looked at, `label` names the addresses it takes.
 */
export async function planNodeInterfaces<I extends NodeInterfaceInput>(
  tx: Tx,
  o: {
    farmId: string;
    node: string;
    existing: Connected[];
    wanted: { input: I; base: string }[];
    label: (input: I) => string;
    check?: (input: I, base: string) => void;
  },
): Promise<PlannedInterface<I>[]> {
  const vnets: VnetRef[] = [];
  const onVnet = new Set(o.existing.map((c) => c.vnet));
  for (const w of o.wanted) {
    o.check?.(w.input, w.base);
    const vnet = await requireVnetInFarm(tx, o.farmId, w.input.vnetId, fieldAt(w.base, 'vnetId'));
    // Before any address is looked at: a second interface on one vnet is the mistake to report.
    if (onVnet.has(vnet.id)) throw badRequest(fieldAt(w.base, 'vnetId'), `${o.node} already has an interface on vnet ${vnet.name}`);
    onVnet.add(vnet.id);
    vnets.push(vnet);
  }
  const addrs = await assignAddresses(
    tx,
    o.wanted.map((w, i) => ({
      field: w.base, vnet: vnets[i]!, ip: w.input.ip, mac: w.input.mac, label: o.label(w.input), from: 'high' as const,
    })),
  );
  const connected = [...o.existing];
  const planned = o.wanted.map((w, i) => {
    const vnet = vnets[i]!;
    const prefixLen = checkPrefixLen(fieldAt(w.base, 'prefixLen'), w.input.prefixLen ?? parseCidr(vnet.cidr, VNET_PREFIX)!.prefixLen);
    const ipNumber = requireIpv4(fieldAt(w.base, 'ip'), addrs[i]!.ip);
    connected.push({
      vnet: vnet.id, vnetName: vnet.name, prefix: interfacePrefix(fieldAt(w.base, 'ip'), ipNumber, prefixLen), ip: ipNumber,
      fieldVnet: fieldAt(w.base, 'vnetId'), fieldIp: fieldAt(w.base, 'ip'),
    });
    return { input: w.input, vnet, ip: addrs[i]!.ip, ipNumber, prefixLen, mac: addrs[i]!.mac };
  });
  checkConnected(connected, o.node);
  return planned;
}
