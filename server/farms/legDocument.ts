// External legs in farm documents: checked with the rest of a document
// (checkDocumentLeg, pure: names of VMs and VIFs, ports, prefixes) and written
// after the document's rows (writeDocumentLegs: networks by name, pool
// addresses claimed as the API claims them, externalLegs.ts).
import { badRequest, conflict } from '../errors.ts';
import type { Tx } from './farmAccess.ts';
import type { DocumentExternalLeg } from './farmDocument.ts';
import { addFloatingIp, addPortForward, attachLeg, type LegNode } from './externalLegs.ts';
import { checkPort, formatIpv4, requireCidr, requireIpv4, requireMac } from './validate.ts';

/** VM name → VIF name → true, of the document being checked. */
export type DocumentVifs = ReadonlyMap<string, ReadonlySet<string>>;

function requireVif(vifs: DocumentVifs, base: string, vm: string, vif: string): void {
  const names = vifs.get(vm);
  if (!names) throw badRequest(`${base}.vm`, `no VM named "${vm}" in this document`);
  if (!names.has(vif)) throw badRequest(`${base}.vif`, `VM ${vm} has no VIF named "${vif}"`);
}

/** The leg as the document gives it, checked for everything that needs no database. */
export function checkDocumentLeg(leg: DocumentExternalLeg, base: string, vifs: DocumentVifs): DocumentExternalLeg {
  const ip = leg.ip === undefined ? undefined : formatIpv4(requireIpv4(`${base}.ip`, leg.ip));
  const mac = leg.mac === undefined ? undefined : requireMac(`${base}.mac`, leg.mac);
  const seen = new Set<string>();
  const snat = leg.snat?.map((p, i) => {
    const c = requireCidr(`${base}.snat.${i}`, p);
    if (seen.has(c.text)) throw badRequest(`${base}.snat.${i}`, `${c.text} is listed twice`);
    seen.add(c.text);
    return c.text;
  });
  const ips = new Set<string>(ip ? [ip] : []);
  const mapped = new Set<string>();
  const floatingIps = leg.floatingIps.map((f, i) => {
    const at = `${base}.floatingIps.${i}`;
    requireVif(vifs, at, f.vm, f.vif);
    const key = `${f.vm}\u0000${f.vif}`;
    if (mapped.has(key)) throw conflict(`${at}.vif`, `VM ${f.vm} (${f.vif}) already has a floating IP on this leg`);
    mapped.add(key);
    if (f.ip === undefined) return { vm: f.vm, vif: f.vif };
    const fip = formatIpv4(requireIpv4(`${at}.ip`, f.ip));
    if (ips.has(fip)) throw conflict(`${at}.ip`, `${fip} is used twice on this leg`);
    ips.add(fip);
    return { ip: fip, vm: f.vm, vif: f.vif };
  });
  const forwards = new Set<string>();
  const portForwards = leg.portForwards.map((p, i) => {
    const at = `${base}.portForwards.${i}`;
    const externalPort = checkPort(`${at}.externalPort`, p.externalPort);
    const internalPort = checkPort(`${at}.internalPort`, p.internalPort);
    requireVif(vifs, at, p.vm, p.vif);
    const key = `${p.protocol}/${externalPort}`;
    if (forwards.has(key)) throw conflict(`${at}.externalPort`, `${p.protocol} port ${externalPort} is forwarded twice`);
    forwards.add(key);
    return { protocol: p.protocol, externalPort, vm: p.vm, vif: p.vif, internalPort };
  });
  return {
    network: leg.network,
    ...(leg.networkId === undefined ? {} : { networkId: leg.networkId }),
    ...(leg.vnid === undefined ? {} : { vnid: leg.vnid }),
    ...(ip === undefined ? {} : { ip }),
    ...(mac === undefined ? {} : { mac }),
    ...(snat === undefined ? {} : { snat }),
    floatingIps,
    portForwards,
  };
}

/** The external network a document names: by name, the one of the node's host's segment when several bear it. */
async function networkByName(tx: Tx, name: string, hostId: string | null, field: string): Promise<string> {
  const found = await tx.externalNetwork.findMany({ where: { name }, select: { id: true, segmentId: true } });
  if (!found.length) throw badRequest(field, `no external network named "${name}" in this deployment`);
  if (found.length === 1) return found[0]!.id;
  const host = hostId ? await tx.host.findUnique({ where: { id: hostId }, select: { segmentId: true } }) : null;
  const here = found.filter((n) => n.segmentId === host?.segmentId);
  if (here.length === 1) return here[0]!.id;
  throw badRequest(field, `${found.length} LAN segments have an external network named "${name}"; place the node on a host of one of them`);
}

interface DocumentNode {
  name: string;
  external?: DocumentExternalLeg | undefined;
}

/**
 * Writes the legs of the document's routers and firewalls into farm
 * `farmId` (whose rows are written). `vnids`: vnet ids to keep, by
 * `<kind>:<name>` (a farm rewritten by farm.applyDocument keeps its legs' ids).
 */
export async function writeDocumentLegs(
  tx: Tx,
  farmId: string,
  doc: { routers: DocumentNode[]; firewalls: DocumentNode[] },
  prefix: string,
  vnids: ReadonlyMap<string, bigint> = new Map(),
): Promise<void> {
  if (![...doc.routers, ...doc.firewalls].some((n) => n.external)) return;
  const vifRows = await tx.vif.findMany({ where: { vm: { farmId } }, select: { id: true, name: true, vm: { select: { name: true } } } });
  const vifId = new Map(vifRows.map((v) => [`${v.vm.name}\u0000${v.name}`, v.id]));
  for (const kind of ['router', 'firewall'] as const) {
    const list = kind === 'router' ? doc.routers : doc.firewalls;
    const rows = kind === 'router'
      ? await tx.router.findMany({ where: { farmId }, select: { id: true, name: true, hostId: true } })
      : await tx.firewall.findMany({ where: { farmId }, select: { id: true, name: true, hostId: true } });
    for (const [i, n] of list.entries()) {
      const leg = n.external;
      if (!leg) continue;
      const base = `${prefix}${kind}s.${i}.external`;
      const row = rows.find((r) => r.name === n.name)!;
      const node: LegNode = { kind, id: row.id, name: row.name, farmId };
      const externalNetworkId = await networkByName(tx, leg.network, row.hostId, `${base}.network`);
      const view = await attachLeg(tx, node, { externalNetworkId, ip: leg.ip, mac: leg.mac, snat: leg.snat }, base);
      const keep = vnids.get(`${kind}:${n.name}`);
      if (keep !== undefined) await tx.externalLeg.update({ where: { id: view.id }, data: { vnid: keep }, select: { id: true } });
      for (const [j, f] of leg.floatingIps.entries()) {
        const added = await addFloatingIp(tx, view, { vifId: vifId.get(`${f.vm}\u0000${f.vif}`)!, ip: f.ip }, `${base}.floatingIps.${j}`);
        view.floatingIps.push(added);
      }
      for (const [j, p] of leg.portForwards.entries()) {
        const added = await addPortForward(tx, view, { ...p, vifId: vifId.get(`${p.vm}\u0000${p.vif}`)! }, `${base}.portForwards.${j}`);
        view.portForwards.push(added);
      }
    }
  }
}
