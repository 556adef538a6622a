// DHCP leases and DNS counts on the host page's API: an agent reports them
// per vnet (agent.report `services`), the console stores the report and
// serves each tenant only its own vnets' leases and counts (host.report,
// host.reports), named farm/vnet; a malformed or oversized list is refused
// naming the field, never stored. Leases are shown by VIF and counts by
// (farm, vnet id), so a vnet id that changed hands never shows one tenant
// another's leases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentReport, buildFarm, refusedWith, setupControl, type BuiltFarm, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import { REPORT_MAX_LEASES } from '../contract/limits.ts';

let f: ControlFixture;
let h1: EnrolledHost;
let shop: BuiltFarm;
let zoo: BuiltFarm;
const vif = (farm: BuiltFarm, vm: string) => farm.vms[vm]!.vifIds[0]!;
const STRANGER_VNID = 4_000_000;

const lease = (vif: string, vnet: number, n: number, hostName: string) => ({
  vif, vnet, mac: `02:5d:00:00:00:${n.toString(16).padStart(2, '0')}`, ip: `10.9.0.${n}`, hostName, ackedAt: 1_700_000_000_000 + n, leaseTime: 3600,
});
// The resolver address travels with the counts to the tenant (the host page's "DHCP and DNS" table).
const counts = (vnet: number, leases: number, farm?: string) => ({ vnet, ...(farm ? { farm } : {}), resolver: '10.1.0.254', leases, dhcpReplies: 4 * leases, dhcpDrops: 1, dnsAnswers: 10 + vnet % 7, dnsForwarded: 2, dnsDrops: 3 });

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
  shop = await buildFarm(f.caller(f.operator), {
    name: 'shop',
    vnets: [{ name: 'front', cidr: '10.1.0.0/24' }, { name: 'back', cidr: '10.2.0.0/24' }],
    vms: [{ name: 'web', hostId: h1.id, vnets: ['front'] }, { name: 'web-2', hostId: h1.id, vnets: ['front'] }],
  });
  zoo = await buildFarm(f.caller(f.otherOperator), {
    name: 'zoo', vnets: [{ name: 'lan', cidr: '10.1.0.0/24' }], vms: [{ name: 'keeper', hostId: h1.id, vnets: ['lan'] }, { name: 'keeper-2', hostId: h1.id, vnets: ['lan'] }],
  });
  const a = shop.vnets.front!.vnid;
  const b = zoo.vnets.lan!.vnid;
  // zoo's keeper-2 still runs on vnet id `c`, which its vnet had before; shop's vnet `back` has that id now.
  const c = shop.vnets.back!.vnid;
  await f.caller(h1.actor).agent.report({
    ...agentReport(0),
    services: {
      vnets: [counts(a, 2, shop.id), counts(b, 1, zoo.id), counts(c, 1, zoo.id), counts(STRANGER_VNID, 1, 'f-stranger'), counts(a + 1000, 1)],
      leases: [
        lease(vif(shop, 'web'), a, 10, 'web'), lease(vif(zoo, 'keeper'), b, 11, 'keeper'), lease(vif(shop, 'web-2'), a, 12, 'web-2'),
        lease('vif-ghost', STRANGER_VNID, 13, 'ghost'), lease(vif(zoo, 'keeper-2'), c, 14, 'spy'),
      ],
    },
  });
}, 60_000);
afterAll(async () => {
  await f?.drop();
});

describe('DHCP leases and DNS counts of a host', () => {
  it("each tenant sees its own vnets' leases and counts, named farm/vnet, nobody else's", async () => {
    const a = shop.vnets.front!.vnid;
    const b = zoo.vnets.lan!.vnid;
    for (const actor of [f.operator, f.viewer, f.admin]) {
      const r = (await f.caller(actor).host.report({ id: h1.id })).report!;
      expect(r.services).toEqual({ vnets: [{ ...counts(a, 2), name: 'shop/front' }], leases: [lease(vif(shop, 'web'), a, 10, 'web'), lease(vif(shop, 'web-2'), a, 12, 'web-2')] });
      expect(JSON.stringify(r)).not.toMatch(/spy|keeper|ghost/);
    }
    const other = (await f.caller(f.otherOperator).host.report({ id: h1.id })).report!;
    expect(other.services).toEqual({ vnets: [{ ...counts(b, 1), name: 'zoo/lan' }], leases: [lease(vif(zoo, 'keeper'), b, 11, 'keeper'), lease(vif(zoo, 'keeper-2'), shop.vnets.back!.vnid, 14, 'spy')] });
    expect(JSON.stringify(other)).not.toMatch(/web|shop|ghost/);
  });

  it('the reports stream gives the counts in summary and the leases in full detail, of the tenant only', async () => {
    const a = shop.vnets.front!.vnid;
    const first = async (detail: 'summary' | 'full') => {
      const abort = new AbortController();
      const it = (await f.caller(f.viewer, abort.signal).host.reports({ hostId: h1.id, detail }))[Symbol.asyncIterator]();
      const v = (await it.next()).value as { report: { services?: unknown } };
      abort.abort();
      return v.report.services;
    };
    expect(await first('summary')).toEqual({ vnets: [{ ...counts(a, 2), name: 'shop/front' }] });
    expect(await first('full')).toEqual({ vnets: [{ ...counts(a, 2), name: 'shop/front' }], leases: [lease(vif(shop, 'web'), a, 10, 'web'), lease(vif(shop, 'web-2'), a, 12, 'web-2')] });
  });

  it('a report with a malformed or oversized lease list is refused and stores nothing', async () => {
    const before = await f.db.hostReport.findUnique({ where: { hostId: h1.id }, select: { receivedAt: true } });
    const bad = (services: unknown) => f.caller(h1.actor).agent.report({ ...agentReport(0), services } as never);
    await refusedWith(bad({ vnets: [], leases: [{ ...lease('v', 1, 1, 'x'), extra: true }] }), 'BAD_REQUEST');
    await refusedWith(bad({ vnets: [], leases: [{ ...lease('v', 1, 1, 'x'), ackedAt: -1 }] }), 'BAD_REQUEST');
    await refusedWith(bad({ vnets: [], leases: Array.from({ length: REPORT_MAX_LEASES + 1 }, (_, i) => lease('v', 1, i % 250, 'x')) }), 'BAD_REQUEST');
    expect(await f.db.hostReport.findUnique({ where: { hostId: h1.id }, select: { receivedAt: true } })).toEqual(before);
  });

  it('a host whose agent reports no services shows none', async () => {
    const h2 = await f.host('h2', '127.0.0.3');
    await f.caller(h2.actor).agent.report(agentReport(0));
    expect((await f.caller(f.operator).host.report({ id: h2.id })).report!.services).toBeUndefined();
  });
});
