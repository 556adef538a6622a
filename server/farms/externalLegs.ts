// External legs: a router's or firewall's interface on an external network
// (server/hosts/externalNetworks.ts), one per node, with its NAT: SNAT of
// inside prefixes to the leg's address, floating IPs (a pool address mapped
// one-to-one to a VIF of the farm) and port forwards (leg address:port → VIF
// address:port). Every pool address in use is a row of ExternalAddress, unique
// per network whichever tenant holds it: a claim is an INSERT that does nothing
// when the address is taken, so parallel claims end with exactly one winner
// and the loser's transaction stays usable (it tries the next address, or is
// refused with CONFLICT when the address was asked for).
// Over 300 lines: the address claim, the rules shared with the farm document
// import (attachLeg, addFloatingIp, addPortForward) and the seven API edits
// built on them belong together.
import { randomBytes } from 'node:crypto';
import { badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { NAT_MAX_FLOATING_IPS, NAT_MAX_PORT_FORWARDS, NAT_MAX_SNAT_PREFIXES } from '../../contract/limits.ts';
import type { ServiceCtx, Tx } from './farmAccess.ts';
import { editFarm } from './farmEdit.ts';
import type { ExternalLegView, FloatingIpView, PortForwardView } from './farmShapes.ts';
import { externalLegSelect, toExternalLegView } from './farmViews.ts';
import { AUTO_MAC_PREFIX } from './ipam.ts';
import {
  checkPort, cidrsOverlap, formatIpv4, makeCidr, parseCidr, requireCidr, requireIpv4, requireMac, type Cidr,
} from './validate.ts';

export interface ExternalNetworkRef {
  id: string;
  name: string;
  cidr: Cidr;
  gateway: number;
  poolStart: number;
  poolEnd: number;
}

/** The network, locked against pool changes until the transaction ends; BAD_REQUEST naming `field` when there is none. */
export async function requireExternalNetwork(tx: Tx, id: string, field: string): Promise<ExternalNetworkRef> {
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>('SELECT id FROM "ExternalNetwork" WHERE id = $1::uuid FOR SHARE', id);
  if (!rows.length) throw badRequest(field, 'no external network with this id');
  const n = await tx.externalNetwork.findUniqueOrThrow({ where: { id }, select: { id: true, name: true, cidr: true, gateway: true, poolStart: true, poolEnd: true } });
  return {
    id: n.id,
    name: n.name,
    cidr: parseCidr(n.cidr)!,
    gateway: requireIpv4('gateway', n.gateway),
    poolStart: requireIpv4('poolStart', n.poolStart),
    poolEnd: requireIpv4('poolEnd', n.poolEnd),
  };
}

/** An address the caller asked for: in the network's pool (which is inside its subnet and leaves the gateway out). */
function checkPoolAddress(net: ExternalNetworkRef, field: string, text: string): number {
  const ip = requireIpv4(field, text);
  const pool = `${formatIpv4(net.poolStart)}–${formatIpv4(net.poolEnd)}`;
  if (makeCidr(ip, net.cidr.prefixLen).network !== net.cidr.network) {
    throw badRequest(field, `${text} is outside external network ${net.name}'s subnet ${net.cidr.text}`);
  }
  if (ip === net.gateway) throw badRequest(field, `${text} is external network ${net.name}'s gateway`);
  if (ip < net.poolStart || ip > net.poolEnd) throw badRequest(field, `${text} is outside external network ${net.name}'s pool ${pool}`);
  return ip;
}

/**
 * Claims a pool address for the leg (vifId null: its own address; else a
 * floating IP of that VIF): the one asked for, or the lowest free one.
 */
async function claimAddress(
  tx: Tx, net: ExternalNetworkRef, o: { legId: string; vifId: string | null; ip?: string | undefined; field: string },
): Promise<string> {
  const insert = (ip: string) =>
    tx.externalAddress.createMany({ data: [{ externalNetworkId: net.id, ip, legId: o.legId, vifId: o.vifId }], skipDuplicates: true });
  if (o.ip !== undefined) {
    const ip = formatIpv4(checkPoolAddress(net, o.field, o.ip));
    if ((await insert(ip)).count === 0) throw conflict(o.field, `${ip} is already in use on external network ${net.name}`);
    return ip;
  }
  const used = new Set(
    (await tx.externalAddress.findMany({ where: { externalNetworkId: net.id }, select: { ip: true } })).map((a) => requireIpv4('ip', a.ip)),
  );
  for (let n = net.poolStart; n <= net.poolEnd; n++) {
    if (used.has(n)) continue;
    // Taken by a concurrent claim since the read: try the next one.
    if ((await insert(formatIpv4(n))).count === 1) return formatIpv4(n);
  }
  throw conflict(o.field, `external network ${net.name}'s pool ${formatIpv4(net.poolStart)}–${formatIpv4(net.poolEnd)} has no free address`);
}

/** SNAT prefixes: network addresses, distinct, not on the external network itself. */
export function checkSnat(net: { name: string; cidr: Cidr }, prefixes: readonly string[], field = 'snat'): string[] {
  if (prefixes.length > NAT_MAX_SNAT_PREFIXES) throw badRequest(field, `at most ${NAT_MAX_SNAT_PREFIXES} prefixes`);
  const seen = new Set<string>();
  return prefixes.map((p, i) => {
    const c = requireCidr(`${field}.${i}`, p);
    if (cidrsOverlap(c, net.cidr)) throw badRequest(`${field}.${i}`, `${c.text} overlaps external network ${net.name}'s subnet ${net.cidr.text}`);
    if (seen.has(c.text)) throw badRequest(`${field}.${i}`, `${c.text} is listed twice`);
    seen.add(c.text);
    return c.text;
  });
}

const randomMac = () => `${AUTO_MAC_PREFIX}:${[...randomBytes(4)].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;

export interface LegNode {
  kind: 'router' | 'firewall';
  id: string;
  name: string;
  farmId: string;
}

/** What the node is connected to inside the farm: its interfaces' (and a router's links') prefixes. */
async function nodePrefixes(tx: Tx, node: LegNode): Promise<Cidr[]> {
  if (node.kind === 'router') {
    const ifs = await tx.routerInterface.findMany({ where: { routerId: node.id }, select: { ip: true, prefixLen: true } });
    const links = await tx.routerLink.findMany({ where: { OR: [{ routerAId: node.id }, { routerBId: node.id }] }, select: { cidr: true } });
    return [...ifs.map((i) => makeCidr(requireIpv4('ip', i.ip), i.prefixLen)), ...links.map((l) => parseCidr(l.cidr)!)];
  }
  const ifs = await tx.firewallInterface.findMany({ where: { firewallId: node.id }, select: { ip: true, prefixLen: true } });
  return ifs.map((i) => makeCidr(requireIpv4('ip', i.ip), i.prefixLen));
}

export interface AttachInput {
  externalNetworkId: string;
  ip?: string | undefined;
  mac?: string | undefined;
  /** Omitted: the prefixes of the node's interfaces (everything behind it leaves with the leg's address). */
  snat?: string[] | undefined;
}

/** Attaches the node to the network; `base` prefixes the fields errors name (a document path). */
export async function attachLeg(tx: Tx, node: LegNode, o: AttachInput, base = ''): Promise<ExternalLegView> {
  const at = (f: string) => (base ? `${base}.${f}` : f);
  const net = await requireExternalNetwork(tx, o.externalNetworkId, at('externalNetworkId'));
  const existing = await tx.externalLeg.findFirst({
    where: node.kind === 'router' ? { routerId: node.id } : { firewallId: node.id },
    select: { externalNetwork: { select: { name: true } } },
  });
  if (existing) throw conflict(at(`${node.kind}Id`), `${node.kind} ${node.name} already has an external leg (on ${existing.externalNetwork.name})`);
  const inside = await nodePrefixes(tx, node);
  const clash = inside.find((c) => cidrsOverlap(c, net.cidr));
  if (clash) throw badRequest(at('externalNetworkId'), `external network ${net.name}'s subnet ${net.cidr.text} overlaps ${node.kind} ${node.name}'s ${clash.text}`);
  if (node.kind === 'firewall') {
    const same = await tx.firewallInterface.findFirst({ where: { firewallId: node.id, name: net.name }, select: { id: true } });
    if (same) throw conflict(at('externalNetworkId'), `firewall ${node.name} has an interface named ${net.name}, the name its external leg takes`);
  }
  const snat = checkSnat(net, o.snat ?? [...new Set(inside.map((c) => c.text))], at('snat'));
  const mac = o.mac === undefined ? randomMac() : requireMac(at('mac'), o.mac);
  // The leg's address is claimed after the leg exists (its row owns the claim); a refused claim rolls both back.
  const leg = await tx.externalLeg.create({
    data: {
      farmId: node.farmId, externalNetworkId: net.id, ip: '0.0.0.0', mac, snat,
      ...(node.kind === 'router' ? { routerId: node.id } : { firewallId: node.id }),
    },
    select: { id: true },
  });
  const ip = await claimAddress(tx, net, { legId: leg.id, vifId: null, ip: o.ip, field: at('ip') });
  return toExternalLegView(await tx.externalLeg.update({ where: { id: leg.id }, data: { ip }, select: externalLegSelect }));
}

/** A VIF of a VM of the farm; another farm's or tenant's VIF is not told apart from a missing one. */
async function requireVifInFarm(tx: Tx, farmId: string, vifId: string, field: string) {
  const vif = await tx.vif.findFirst({ where: { id: vifId, vm: { farmId } }, select: { id: true, ip: true, name: true, vm: { select: { name: true } } } });
  if (!vif) throw badRequest(field, 'no VIF with this id on a VM of this farm');
  return vif;
}

async function requireLeg(tx: Tx, actor: UserActor, id: string, field = 'id') {
  const leg = await tx.externalLeg.findFirst({
    where: { id, farm: { tenantId: actor.tenantId } },
    select: { ...externalLegSelect, farm: { select: { id: true, tenantId: true } }, router: { select: { name: true } }, firewall: { select: { name: true } } },
  });
  if (!leg) throw notFound('external leg', field);
  const { farm, router, firewall, ...row } = leg;
  return { farm, node: router ? `router ${router.name}` : `firewall ${firewall?.name ?? ''}`, view: toExternalLegView(row) };
}

export async function addFloatingIp(
  tx: Tx, leg: ExternalLegView, o: { vifId: string; ip?: string | undefined }, base = '',
): Promise<FloatingIpView> {
  const at = (f: string) => (base ? `${base}.${f}` : f);
  if (leg.floatingIps.length >= NAT_MAX_FLOATING_IPS) throw conflict(at('legId'), `at most ${NAT_MAX_FLOATING_IPS} floating IPs per leg`);
  const vif = await requireVifInFarm(tx, leg.farmId, o.vifId, at('vifId'));
  if (leg.floatingIps.some((f) => f.vifId === vif.id)) {
    throw conflict(at('vifId'), `VM ${vif.vm.name} (${vif.name}) already has a floating IP on external network ${leg.networkName}`);
  }
  const net = await requireExternalNetwork(tx, leg.externalNetworkId, at('legId'));
  const ip = await claimAddress(tx, net, { legId: leg.id, vifId: vif.id, ip: o.ip, field: at('ip') });
  const row = await tx.externalAddress.findUniqueOrThrow({
    where: { externalNetworkId_ip: { externalNetworkId: net.id, ip } }, select: { id: true, legId: true, ip: true, vifId: true },
  });
  return { ...row, vifId: row.vifId! };
}

export interface PortForwardInput {
  protocol: 'tcp' | 'udp';
  externalPort: number;
  vifId: string;
  internalPort: number;
}

export async function addPortForward(tx: Tx, leg: ExternalLegView, o: PortForwardInput, base = ''): Promise<PortForwardView> {
  const at = (f: string) => (base ? `${base}.${f}` : f);
  const externalPort = checkPort(at('externalPort'), o.externalPort);
  const internalPort = checkPort(at('internalPort'), o.internalPort);
  if (o.protocol !== 'tcp' && o.protocol !== 'udp') throw badRequest(at('protocol'), `${String(o.protocol)} is neither tcp nor udp`);
  if (leg.portForwards.length >= NAT_MAX_PORT_FORWARDS) throw conflict(at('legId'), `at most ${NAT_MAX_PORT_FORWARDS} port forwards per leg`);
  const vif = await requireVifInFarm(tx, leg.farmId, o.vifId, at('vifId'));
  if (leg.portForwards.some((f) => f.protocol === o.protocol && f.externalPort === externalPort)) {
    throw conflict(at('externalPort'), `${o.protocol} ${leg.ip}:${externalPort} is already forwarded`);
  }
  const row = await tx.portForward.create({
    data: { legId: leg.id, protocol: o.protocol, externalPort, vifId: vif.id, internalPort },
    select: { id: true, legId: true, protocol: true, externalPort: true, vifId: true, internalPort: true },
  });
  return { ...row, protocol: o.protocol };
}

// ---- the API's edits, each one farm edit ----

export async function createExternalLeg(
  o: ServiceCtx & AttachInput & { expectedRevision: number; routerId?: string | undefined; firewallId?: string | undefined },
): Promise<{ farmRevision: number; leg: ExternalLegView }> {
  if ((o.routerId === undefined) === (o.firewallId === undefined)) throw badRequest('routerId', 'give exactly one of routerId and firewallId');
  return editFarm(o, async ({ tx, bump }) => {
    const node: LegNode = o.routerId !== undefined
      ? await findNode(tx, o.actor, 'router', o.routerId)
      : await findNode(tx, o.actor, 'firewall', o.firewallId!);
    await bump({ id: node.farmId, tenantId: o.actor.tenantId });
    const leg = await attachLeg(tx, node, o);
    return { result: { leg }, audit: { action: 'externalLeg.create', entity: 'externalLeg', entityId: leg.id, after: leg } };
  });
}

async function findNode(tx: Tx, actor: UserActor, kind: 'router' | 'firewall', id: string): Promise<LegNode> {
  const where = { id, farm: { tenantId: actor.tenantId } };
  const select = { id: true, name: true, farmId: true } as const;
  const row = kind === 'router' ? await tx.router.findFirst({ where, select }) : await tx.firewall.findFirst({ where, select });
  if (!row) throw notFound(kind, `${kind}Id`);
  return { kind, ...row };
}

/** A new address (another from the pool, or the one given) and/or new SNAT prefixes. */
export async function updateExternalLeg(
  o: ServiceCtx & { id: string; expectedRevision: number; ip?: string | undefined; snat?: string[] | undefined },
): Promise<{ farmRevision: number; leg: ExternalLegView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, view: before } = await requireLeg(tx, o.actor, o.id);
    await bump(farm);
    const net = await requireExternalNetwork(tx, before.externalNetworkId, 'id');
    const data: { ip?: string; snat?: string[] } = {};
    if (o.snat !== undefined) data.snat = checkSnat(net, o.snat);
    if (o.ip !== undefined && formatIpv4(requireIpv4('ip', o.ip)) !== before.ip) {
      await tx.externalAddress.deleteMany({ where: { legId: before.id, vifId: null } });
      data.ip = await claimAddress(tx, net, { legId: before.id, vifId: null, ip: o.ip, field: 'ip' });
    }
    const leg = toExternalLegView(await tx.externalLeg.update({ where: { id: o.id }, data, select: externalLegSelect }));
    return { result: { leg }, audit: { action: 'externalLeg.update', entity: 'externalLeg', entityId: o.id, before, after: leg } };
  });
}

/** Detaches the node: its address, floating IPs and port forwards go back. */
export async function deleteExternalLeg(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, view: before } = await requireLeg(tx, o.actor, o.id);
    await bump(farm);
    await tx.externalLeg.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'externalLeg.delete', entity: 'externalLeg', entityId: o.id, before } };
  });
}

export async function createFloatingIp(
  o: ServiceCtx & { legId: string; expectedRevision: number; vifId: string; ip?: string | undefined },
): Promise<{ farmRevision: number; floatingIp: FloatingIpView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, view: leg } = await requireLeg(tx, o.actor, o.legId, 'legId');
    await bump(farm);
    const floatingIp = await addFloatingIp(tx, leg, o);
    return { result: { floatingIp }, audit: { action: 'floatingIp.create', entity: 'externalLeg', entityId: leg.id, after: floatingIp } };
  });
}

async function requireFloatingIp(tx: Tx, actor: UserActor, id: string) {
  const a = await tx.externalAddress.findFirst({
    where: { id, vifId: { not: null }, leg: { farm: { tenantId: actor.tenantId } } },
    select: { id: true, legId: true, ip: true, vifId: true, leg: { select: { farm: { select: { id: true, tenantId: true } } } } },
  });
  if (!a) throw notFound('floating IP', 'id');
  return a;
}

export async function deleteFloatingIp(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { leg, ...before } = await requireFloatingIp(tx, o.actor, o.id);
    await bump(leg.farm);
    await tx.externalAddress.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'floatingIp.delete', entity: 'externalLeg', entityId: before.legId, before } };
  });
}

export async function createPortForward(
  o: ServiceCtx & PortForwardInput & { legId: string; expectedRevision: number },
): Promise<{ farmRevision: number; portForward: PortForwardView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, view: leg } = await requireLeg(tx, o.actor, o.legId, 'legId');
    await bump(farm);
    const portForward = await addPortForward(tx, leg, o);
    return { result: { portForward }, audit: { action: 'portForward.create', entity: 'externalLeg', entityId: leg.id, after: portForward } };
  });
}

export async function deletePortForward(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const row = await tx.portForward.findFirst({
      where: { id: o.id, leg: { farm: { tenantId: o.actor.tenantId } } },
      select: { id: true, legId: true, protocol: true, externalPort: true, vifId: true, internalPort: true, leg: { select: { farm: { select: { id: true, tenantId: true } } } } },
    });
    if (!row) throw notFound('port forward', 'id');
    const { leg, ...before } = row;
    await bump(leg.farm);
    await tx.portForward.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'portForward.delete', entity: 'externalLeg', entityId: before.legId, before } };
  });
}
