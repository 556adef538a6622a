// The demo farm's way out: an external network "demo-uplink" (198.19.200.0/24,
// from the range RFC 2544 reserves for benchmarking, so it clashes with no
// real network) on a veth pair that scripts/start.mjs makes on the machine
// when it runs as root: `sdxdemo-gw` keeps the gateway's address
// 198.19.200.1, its peer `sdxdemo-ext` is bound on local-2, where the demo's
// router `gw` runs. The router gets a leg with SNAT and floating IPs for
// web-1 and web-2, so `ping 198.19.200.11` on the machine reaches web-1.
import { existsSync } from 'node:fs';
import type { Db } from '../server/db/index.ts';
import { writeAudit } from '../server/audit/audit.ts';
import { deployFarm } from '../server/control/deploy.ts';
import { createExternalLeg, createFloatingIp } from '../server/farms/externalLegs.ts';
import { bindExternalNetwork, createExternalNetwork } from '../server/hosts/externalNetworks.ts';
import { DEMO_FARM, LOCAL_SEGMENT, systemAdmin } from './demo-seed.ts';

export const DEMO_UPLINK = {
  name: 'demo-uplink',
  cidr: '198.19.200.0/24',
  gateway: '198.19.200.1',
  poolStart: '198.19.200.10',
  poolEnd: '198.19.200.50',
  /** The machine's end of the veth pair, with the gateway's address. */
  gatewayIf: 'sdxdemo-gw',
  /** The end bound on the router's host. */
  hostIf: 'sdxdemo-ext',
  host: 'local-2',
} as const;
/** Marks the demo farm's leg as made once (a deleted leg stays deleted). */
export const DEMO_EXTERNAL_ACTION = 'demo.seed.external';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

/** Why the demo gets no external network on this machine, or null when it can. */
export function demoExternalUnavailable(opts: { root?: boolean; interfaceExists?: boolean } = {}): string | null {
  const root = opts.root ?? process.getuid?.() === 0;
  if (!root) return 'the console does not run as root, and only root can make the veth pair the demo network needs';
  const present = opts.interfaceExists ?? existsSync(`/sys/class/net/${DEMO_UPLINK.hostIf}`);
  if (!present) return `interface ${DEMO_UPLINK.hostIf} is missing (scripts/start.mjs makes it when it runs as root)`;
  return null;
}

/**
 * Makes the demo network and its binding on local-2 (idempotent), and once
 * gives the demo farm's router a leg with floating IPs for its web servers,
 * then deploys the farm. Returns the published addresses.
 */
export async function ensureDemoExternal(db: Db, opts: { log: Log; root?: boolean; interfaceExists?: boolean }): Promise<string[]> {
  const why = demoExternalUnavailable(opts);
  if (why) {
    opts.log(`demo external network skipped: ${why}`);
    return [];
  }
  const actor = await systemAdmin(db);
  const segment = await db.lanSegment.findUnique({ where: { name: LOCAL_SEGMENT }, select: { id: true } });
  const host = await db.host.findUnique({ where: { name: DEMO_UPLINK.host }, select: { id: true } });
  if (!segment || !host) return [];
  const { gatewayIf: _g, hostIf, host: _h, ...net } = DEMO_UPLINK;
  const existing = await db.externalNetwork.findFirst({ where: { segmentId: segment.id, name: net.name }, select: { id: true } });
  const networkId = existing?.id ?? (await createExternalNetwork({ db, actor, segmentId: segment.id, ...net, description: 'the local demo\'s way out (veth sdxdemo-gw ↔ sdxdemo-ext)' })).id;
  const bound = await db.externalNetworkBinding.findFirst({ where: { externalNetworkId: networkId, hostId: host.id }, select: { id: true } });
  if (!bound) await bindExternalNetwork({ db, actor, id: networkId, hostId: host.id, interface: hostIf, vid: null });

  const published = async () =>
    (await db.externalAddress.findMany({ where: { leg: { externalNetworkId: networkId }, vifId: { not: null } }, select: { ip: true }, orderBy: { ip: 'asc' } })).map((a) => a.ip);
  if (await db.auditLog.findFirst({ where: { action: DEMO_EXTERNAL_ACTION }, select: { id: true } })) return published();
  const farm = await db.farm.findFirst({ where: { tenantId: actor.tenantId, name: DEMO_FARM }, select: { id: true, revision: true } });
  const router = farm && (await db.router.findFirst({ where: { farmId: farm.id, name: 'gw' }, select: { id: true } }));
  if (!farm || !router) return [];
  let rev = farm.revision;
  const { leg, farmRevision } = await createExternalLeg({ db, actor, expectedRevision: rev, routerId: router.id, externalNetworkId: networkId });
  rev = farmRevision;
  for (const vm of ['web-1', 'web-2']) {
    const vif = await db.vif.findFirst({ where: { name: 'eth0', vm: { farmId: farm.id, name: vm } }, select: { id: true } });
    if (vif) rev = (await createFloatingIp({ db, actor, legId: leg.id, expectedRevision: rev, vifId: vif.id })).farmRevision;
  }
  await deployFarm({ db, actor, id: farm.id });
  await writeAudit(db, { actor, action: DEMO_EXTERNAL_ACTION, entity: 'farm', entityId: farm.id, after: { network: net.name, leg: leg.ip } });
  const ips = await published();
  opts.log('demo farm published on the demo external network', { network: net.name, router: leg.ip, floatingIps: ips });
  return ips;
}
