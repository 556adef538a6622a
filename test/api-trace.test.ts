// farm.trace through the real routers on a real database: a deployed farm's
// flows traced hop by hop from the host states the deploy wrote; input
// validation with the field named; another tenant's farm or VIF NOT_FOUND;
// live mode asking the agents on the path (scripted here with host
// credentials) and marking the hop whose VARP entry disagrees with the design.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from './farm-fixtures.ts';
import { agentReport, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import { pull, untrack, type Command } from './command-fixture.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost;
let farmId: string, otherFarmId: string, draftId: string;
let web1: string, web2: string, db1: string, otherVif: string;

function doc(name: string): FarmDocumentInput {
  return {
    version: 'softudc.farm/v1',
    name,
    vnets: [
      { name: 'web', cidr: '10.61.0.0/24' },
      { name: 'db', cidr: '10.62.0.0/24' },
    ],
    vms: [
      { name: 'web1', host: 'h1', vifs: [{ vnet: 'web', ip: '10.61.0.10' }] },
      { name: 'web2', host: 'h2', vifs: [{ vnet: 'web', ip: '10.61.0.11' }] },
      { name: 'db1', host: 'h2', vifs: [{ vnet: 'db', ip: '10.62.0.10' }] },
    ],
    routers: [],
    firewalls: [
      {
        name: 'fw', host: 'h1', defaultPolicy: 'deny',
        interfaces: [{ name: 'web', vnet: 'web', ip: '10.61.0.1' }, { name: 'db', vnet: 'db', ip: '10.62.0.1' }],
        rules: [
          { action: 'deny', protocol: 'tcp', source: '10.61.0.11/32', destination: '10.62.0.0/24' },
          { action: 'allow', protocol: 'tcp', source: '10.61.0.0/24', destination: '10.62.0.0/24', portFrom: 5432 },
        ],
      },
    ],
  };
}

const vifOf = (d: { vms: { name: string; vifs: { id: string }[] }[] }, vm: string) => d.vms.find((v) => v.name === vm)!.vifs[0]!.id;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '198.18.9.1');
  h2 = await f.host('h2', '198.18.9.2');
  const op = f.caller(f.operator);
  const farm = await op.farm.import({ document: doc('shop'), vnids: 'auto' });
  await op.farm.deploy({ id: farm.id });
  farmId = farm.id;
  const d = await op.farm.get({ id: farm.id });
  web1 = vifOf(d, 'web1');
  web2 = vifOf(d, 'web2');
  db1 = vifOf(d, 'db1');
  const other = f.caller(f.otherOperator);
  const b = await other.farm.import({ document: doc('shop'), vnids: 'auto' });
  await other.farm.deploy({ id: b.id });
  otherFarmId = b.id;
  otherVif = vifOf(await other.farm.get({ id: b.id }), 'web1');
  draftId = (await op.farm.import({ document: doc('draft'), vnids: 'auto' })).id;
}, 60_000);
afterAll(() => f?.drop());

describe('farm.trace', () => {
  it('traces a deployed flow through the firewall to delivery, naming hosts and the rule', async () => {
    const t = await f.caller(f.viewer).farm.trace({ id: farmId, from: { vif: web1 }, to: '10.62.0.10', protocol: 'tcp', port: 5432 });
    expect(t.verdict).toBe('delivered');
    expect(t.hops.map((h) => `${h.step}:${h.verdict}@${h.host?.name}`)).toEqual([
      'port-security:pass@h1', 'switch:pass@h1', 'firewall:pass@h1', 'switch:pass@h1', 'deliver:deliver@h2',
    ]);
    expect(t.hops[2]!.decidedBy).toMatchObject({ kind: 'rule', ref: 1 });
    expect(t.hops[3]!.reason).toContain('host h2 (198.18.9.2)');
    expect(t.hops[4]!.node.id).toBe(db1);
  });

  it('names the rule that drops, and the default policy', async () => {
    const v = f.caller(f.viewer);
    const denied = await v.farm.trace({ id: farmId, from: { vif: web2 }, to: '10.62.0.10', protocol: 'tcp', port: 5432 });
    expect(denied.verdict).toBe('dropped');
    expect(denied.hops[denied.failedAt!]).toMatchObject({ step: 'firewall', verdict: 'drop', host: { name: 'h1' }, decidedBy: { kind: 'rule', ref: 0 } });
    const byDefault = await v.farm.trace({ id: farmId, from: { vif: web1 }, to: '10.62.0.10', protocol: 'udp', port: 53 });
    expect(byDefault.hops[byDefault.failedAt!]!.decidedBy).toMatchObject({ kind: 'default', text: 'default policy deny' });
  });

  it('refuses bad input naming the field', async () => {
    const v = f.caller(f.viewer);
    const base = { id: farmId, from: { vif: web1 }, to: '10.62.0.10', protocol: 'tcp' as const, port: 5432 };
    await expectError(v.farm.trace({ ...base, to: '10.62.0' }), 'BAD_REQUEST', 'to');
    await expectError(v.farm.trace({ ...base, port: undefined }), 'BAD_REQUEST', 'port');
    await expectError(v.farm.trace({ ...base, port: 70_000 }), 'BAD_REQUEST', 'port');
    await expectError(v.farm.trace({ ...base, protocol: 'icmp' }), 'BAD_REQUEST', 'port');
    await expectError(v.farm.trace({ ...base, protocol: 'sctp' as 'tcp' }), 'BAD_REQUEST', 'protocol');
    await expectError(v.farm.trace({ ...base, from: { vif: 'web1' } }), 'BAD_REQUEST', 'from.vif');
    await expectError(v.farm.trace({ ...base, from: { external: '203.0.113.1' } }), 'BAD_REQUEST', 'from.external');
    await expectError(v.farm.trace({ ...base, id: 'nope' }), 'BAD_REQUEST', 'id');
  });

  it('keeps tenants apart and needs a deployed farm', async () => {
    const v = f.caller(f.viewer);
    await expectError(v.farm.trace({ id: otherFarmId, from: { vif: otherVif }, to: '10.62.0.10', protocol: 'icmp' }), 'NOT_FOUND', 'id');
    // Another tenant's VIF from one's own farm: not found, never traced.
    await expectError(v.farm.trace({ id: farmId, from: { vif: otherVif }, to: '10.62.0.10', protocol: 'icmp' }), 'NOT_FOUND', 'from.vif');
    await expectError(v.farm.trace({ id: draftId, from: { external: '203.0.113.1' }, to: '10.62.0.10', protocol: 'icmp' }), 'PRECONDITION_FAILED', 'id');
  });

  it('live: a destination only RIP reaches is asked of the running router, and the walk goes on', async () => {
    const op = f.caller(f.operator);
    const rip = await op.farm.import({
      vnids: 'auto',
      document: {
        version: 'softudc.farm/v1', name: 'rip',
        vnets: [{ name: 'lan', cidr: '10.63.0.0/24' }],
        vms: [{ name: 'a', host: 'h1', vifs: [{ vnet: 'lan', ip: '10.63.0.10' }] }],
        routers: [{ name: 'r', host: 'h1', interfaces: [{ vnet: 'lan', ip: '10.63.0.1', rip: true }] }],
      },
    });
    await op.farm.deploy({ id: rip.id });
    const d = await op.farm.get({ id: rip.id });
    const vnid = d.vnets[0]!.vnid;
    const from = { vif: vifOf(d, 'a') };
    const design = await f.caller(f.viewer).farm.trace({ id: rip.id, from, to: '10.64.0.10', protocol: 'icmp' });
    expect(design.verdict).toBe('unknown');
    await f.caller(h1.actor).agent.report(agentReport(0));
    const agent = await pull((signal) => f.caller(h1.actor, signal).agent.commands({}), (x) => untrack<Command>(x).data);
    const pending = f.caller(f.viewer).farm.trace({ id: rip.id, from, to: '10.64.0.10', protocol: 'icmp', live: true });
    const ask = (await agent.next()) as Command;
    expect(ask.args).toMatchObject({ varp: [], routes: [{ kind: 'router', destination: '10.64.0.10' }] });
    const route = { destination: '10.64.0.0/24', nextHop: '10.63.0.254', iface: `vnet${vnid}`, source: 'rip', text: `10.64.0.0/24 via 10.63.0.254 dev vnet${vnid} [rip/2]` };
    const routerId = (ask.args as { routes: { id: string }[] }).routes[0]!.id;
    await f.caller(h1.actor).agent.commandResult({ id: ask.id, seq: 0, done: true, data: { varp: [], routes: [{ kind: 'router', id: routerId, destination: '10.64.0.10', running: true, route }], firewalls: [] } });
    const evidence = (await agent.next()) as Command;
    const args = evidence.args as { varp: { vnet: number; mac: string }[] };
    await f.caller(h1.actor).agent.commandResult({
      id: evidence.id, seq: 0, done: true,
      data: { varp: args.varp.map((v) => ({ ...v, local: 'p', entry: null })), routes: [{ kind: 'router', id: routerId, destination: '10.64.0.10', running: true, route }], firewalls: [] },
    });
    await agent.close();
    const t = await pending;
    const r = t.hops.find((h) => h.step === 'router')!;
    expect(r).toMatchObject({ verdict: 'pass', decidedBy: { kind: 'route', ref: '10.64.0.0/24' }, live: { agrees: true } });
    expect(r.reason).toContain('RIP route');
    expect(t.hops[t.failedAt!]).toMatchObject({ step: 'switch', verdict: 'drop' });
    expect(t.hops[t.failedAt!]!.reason).toContain('the gateway 10.63.0.254');
  });

  it('live: asks the agents on the path and marks a VARP entry pointing at an old address', async () => {
    await f.caller(h1.actor).agent.report(agentReport(0));
    await f.caller(h2.actor).agent.report(agentReport(0));
    const agent = await pull((signal) => f.caller(h1.actor, signal).agent.commands({}), (x) => untrack<Command>(x).data);
    const pending = f.caller(f.viewer).farm.trace({ id: farmId, from: { vif: web1 }, to: '10.62.0.10', protocol: 'tcp', port: 5432, live: true });
    const cmd = (await agent.next()) as Command;
    expect(cmd.kind).toBe('trace.lookup');
    const args = cmd.args as { varp: { vnet: number; mac: string }[]; routes: { id: string }[]; firewalls: string[] };
    expect(args.varp).toHaveLength(2);
    expect(args.firewalls).toHaveLength(1);
    const [toFw, toDb] = args.varp;
    await f.caller(h1.actor).agent.commandResult({
      id: cmd.id, seq: 0, done: true,
      data: {
        varp: [
          { vnet: toFw!.vnet, mac: toFw!.mac, local: 'fw-port', entry: null },
          { vnet: toDb!.vnet, mac: toDb!.mac, local: null, entry: { coa: '198.18.9.77', port: 1798, state: 'REACHABLE', version: 1, ageMs: 12_000, proxy: false } },
        ],
        routes: [{ kind: 'firewall', id: args.firewalls[0]!, destination: '10.62.0.10', running: true, route: { destination: '10.62.0.0/24', nextHop: null, iface: 'db', source: 'connected', text: '10.62.0.0/24 dev db [connected/0]' } }],
        firewalls: [{ id: args.firewalls[0]!, running: true, rules: [{ index: 0, hits: 0 }, { index: 1, hits: 7 }], defaultHits: 2, connection: null }],
      },
    });
    await agent.close();
    const t = await pending;
    expect(t.live).toBe(true);
    expect(t.hops[1]!.live).toMatchObject({ agrees: true });
    expect(t.hops[2]!.live!.state).toContain('rule 2 hit 7 times');
    const stale = t.hops[3]!.live!;
    expect(stale.agrees).toBe(false);
    expect(stale.state).toContain('VARP entry on host h1');
    expect(stale.state).toContain('198.18.9.77');
    expect(stale.state).toContain('is on h2 (198.18.9.2)');
  });
});
