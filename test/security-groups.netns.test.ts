// Security groups end to end: three standalone agents on one LAN segment
// (VARP multicast), TAP guests in namespaces of their own, and a three-tier
// set (web, app, db) on one vnet protected by security groups alone (no
// firewall node): a client reaches web on TCP 80 and ICMP, web reaches app on
// TCP 8080 and UDP 5000, app reaches db on TCP 5432 and ICMP, db may open
// nothing. Real TCP, UDP and ICMP between the guests' kernels: allowed flows
// and their replies pass, everything else is dropped and counted by the
// agent of the VIF. db then moves to another host (a new location version)
// and keeps its rules there, an open connection to it included; and a new
// remote list for a rule changes what passes. `vif.inspect` on the admin API
// shows what a live trace needs (VARP entry, connection, rule).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, addHost, addSegment, pingUntil, tapVif, type FullState } from './overlay-fixture.ts';
import type { VifInspectData } from '../contract/commands.ts';

const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/bin/curl'),
  'the security groups test needs root, `ip netns`, the TAP addon, bin/softudc-agent.js and curl (bash .ci/install-deps.sh)',
);

const A = '198.18.61.1';
const B = '198.18.61.2';
const C = '198.18.61.3';
const VNET = 161;
const IP = { web: '10.161.0.10', app: '10.161.0.20', db: '10.161.0.30', client: '10.161.0.40' } as const;
const N = { web: 10, app: 20, db: 30, client: 40 } as const;
type Guest = keyof typeof IP;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rule = (id: string, direction: 'ingress' | 'egress', protocol: string, extra: Record<string, unknown> = {}) => ({ id, direction, protocol, ...extra });
/** Neutron-like: every group lets its guests open anything, except db, which may only answer. */
function groups(appFrom: string[] = [`${IP.web}/32`]) {
  return {
    web: { id: 'sg-web', name: 'web', rules: [rule('web-http', 'ingress', 'tcp', { portFrom: 80 }), rule('web-ping', 'ingress', 'icmp', { icmpType: 8 }), rule('web-out', 'egress', 'any')] },
    app: {
      id: 'sg-app',
      name: 'app',
      rules: [rule('app-http', 'ingress', 'tcp', { portFrom: 8080, remote: appFrom }), rule('app-udp', 'ingress', 'udp', { portFrom: 5000, portTo: 5001, remote: appFrom }), rule('app-out', 'egress', 'any')],
    },
    db: { id: 'sg-db', name: 'db', rules: [rule('db-pg', 'ingress', 'tcp', { portFrom: 5432, remote: [`${IP.app}/32`] }), rule('db-ping', 'ingress', 'icmp', { remote: [`${IP.app}/32`] })] },
  };
}

/** Echo servers: TCP on `tcp` ports, UDP on `udp` ports; prints "ready". */
const serverScript = (tcp: number[], udp: number[]) => `
const net = require('node:net'), dgram = require('node:dgram');
for (const p of ${JSON.stringify(tcp)}) net.createServer((s) => { s.on('data', (d) => s.write(d)); s.on('error', () => {}); }).listen(p, '0.0.0.0');
for (const p of ${JSON.stringify(udp)}) { const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(m, r.port, r.address)); u.bind(p); }
setTimeout(() => console.log('ready'), 100);`;

/** One exchange: prints "ok" when the echo came back within `ms`. */
const clientScript = (proto: 'tcp' | 'udp', host: string, port: number, ms: number) => `
const done = (r) => { console.log(r); process.exit(0); };
setTimeout(() => done('timeout'), ${ms});
if (${JSON.stringify(proto)} === 'tcp') {
  const s = require('node:net').connect(${port}, ${JSON.stringify(host)}, () => s.write('hello'));
  s.on('data', (d) => done(d.toString() === 'hello' ? 'ok' : 'bad'));
  s.on('error', (e) => done('error ' + e.code));
} else {
  const u = require('node:dgram').createSocket('udp4');
  u.on('message', (m) => done(m.toString() === 'hello' ? 'ok' : 'bad'));
  u.send('hello', ${port}, ${JSON.stringify(host)});
}`;

/** Connects once and sends a line every 200 ms, printing "e" for each echo: a connection that must survive. */
const longClientScript = (host: string, port: number) => `
const s = require('node:net').connect(${port}, ${JSON.stringify(host)}, () => setInterval(() => s.write('x'), 200));
s.on('data', (d) => { for (let i = 0; i < d.length; i++) process.stdout.write('e\\n'); });
s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });
s.on('close', () => { console.log('closed'); process.exit(1); });`;

describe.skipIf(!ok)('security groups on three hosts', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  const ns = {} as Record<Guest, string>;
  let a: OverlayAgent;
  let b: OverlayAgent;
  let c: OverlayAgent;
  const servers: ChildProcess[] = [];

  const vif = (g: Guest, version = 1) =>
    tapVif(`${g}/eth0`, VNET, N[g], ns[g], { version, ...(g === 'client' ? {} : { securityGroups: [`sg-${g}`] }) });
  function host(name: string, address: string, guests: Guest[], g = groups()): FullState & { securityGroups: unknown[] } {
    const members = [A, B, C].filter((x) => x !== address);
    const used = guests.filter((x): x is Exclude<Guest, 'client'> => x !== 'client').map((x) => g[x]);
    return {
      host: name, generation: 1, underlay: { address, port: 1798, multicast: '224.10.0.61', peers: [], members },
      vnets: [{ id: VNET, security: 'none', mtu: 1400 }], vifs: guests.map((x) => vif(x)), securityGroups: used,
    };
  }

  async function flow(from: Guest, proto: 'tcp' | 'udp', to: Guest, port: number, ms = 1500): Promise<string> {
    const r = await h.exec(ns[from], process.execPath, ['-e', clientScript(proto, IP[to], port, ms)], { timeoutMs: ms + 5000 });
    return r.stdout.trim();
  }
  const ping = async (from: Guest, to: Guest) => (await h.exec(ns[from], 'ping', ['-n', '-c', '1', '-W', '1', IP[to]], { timeoutMs: 5000 })).code === 0;
  const drops = (agent: OverlayAgent, direction: string) => agent.counter(`softudc_sg_drops_total{direction="${direction}",reason="no_rule"}`);
  async function sgView(agent: OverlayAgent, g: Guest) {
    const s = JSON.parse(await agent.admin('/v1/state')) as { vifs: { id: string; path?: { path: string; reason: string }; securityGroups?: { groups: string[]; rules: { rule: string; hits: number }[]; connections: number } }[] };
    return s.vifs.find((v) => v.id === `${g}/eth0`);
  }
  const hits = async (agent: OverlayAgent, g: Guest, id: string) => (await sgView(agent, g))?.securityGroups?.rules.find((r) => r.rule === id)?.hits ?? -1;

  beforeAll(async () => {
    dir = await stateDir();
    const sw = await h.addNs('sgsw');
    await addSegment(h, sw, 'br0', '198.18.61');
    const hosts = { a: await addHost(h, sw, 'br0', 'sgha', A), b: await addHost(h, sw, 'br0', 'sghb', B), c: await addHost(h, sw, 'br0', 'sghc', C) };
    for (const g of Object.keys(IP) as Guest[]) ns[g] = await h.addNs(`sg${g}`);
    a = new OverlayAgent(h, hosts.a, `${dir.dir}/a.json`, host('sga', A, ['client', 'web']));
    b = new OverlayAgent(h, hosts.b, `${dir.dir}/b.json`, host('sgb', B, ['app']));
    c = new OverlayAgent(h, hosts.c, `${dir.dir}/c.json`, host('sgc', C, ['db']));
    await Promise.all([a.start(), b.start(), c.start()]);
    const ports: Record<Guest, [number[], number[]]> = { web: [[80, 22], []], app: [[8080], [5000]], db: [[5432, 22], []], client: [[22], [5000]] };
    for (const g of Object.keys(ports) as Guest[]) {
      const s = h.spawn(ns[g], process.execPath, ['-e', serverScript(...ports[g])]);
      servers.push(s);
      await new Promise<void>((res, rej) => {
        s.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && res());
        s.once('exit', (code) => rej(new Error(`echo server in ${g} exited ${code}`)));
      });
    }
    // The first ping also resolves the path (VARP) for what follows.
    expect(await pingUntil(h, ns.client, IP.web)).toBe(true);
    expect(await pingUntil(h, ns.app, IP.db)).toBe(true);
  });

  afterAll(async () => {
    for (const x of [a, b, c]) await x?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  it('allowed TCP, UDP and ICMP pass with their replies; rule hits are counted and shown', async () => {
    expect(await flow('client', 'tcp', 'web', 80)).toBe('ok');
    expect(await flow('web', 'tcp', 'app', 8080)).toBe('ok');
    expect(await flow('web', 'udp', 'app', 5000)).toBe('ok'); // the reply passes web's ingress by its connection
    expect(await flow('app', 'tcp', 'db', 5432)).toBe('ok'); // db answers without any egress rule
    expect(await ping('client', 'web')).toBe(true);
    expect(await ping('app', 'db')).toBe(true);
    expect(await hits(a, 'web', 'web-http')).toBeGreaterThanOrEqual(1);
    expect(await hits(b, 'app', 'app-udp')).toBeGreaterThanOrEqual(1);
    expect(await hits(c, 'db', 'db-pg')).toBeGreaterThanOrEqual(1);
    const v = await sgView(b, 'app');
    expect(v?.securityGroups?.groups).toEqual(['sg-app']);
    expect(v?.path?.path).toBe('userspace');
    expect((await a.metrics())).toMatch(/softudc_sg_rule_hits_total\{group="sg-web",rule="web-http"\} \d+/);
  });

  it('everything else is dropped at the VIF and counted there, both directions', async () => {
    const before = { a: await drops(a, 'ingress'), b: await drops(b, 'ingress'), c: await drops(c, 'ingress'), cOut: await drops(c, 'egress') };
    expect(await flow('client', 'tcp', 'web', 22)).toBe('timeout'); // a port web does not open
    expect(await flow('client', 'tcp', 'app', 8080)).toBe('timeout'); // app only from web
    expect(await flow('client', 'udp', 'app', 5000)).toBe('timeout');
    expect(await flow('web', 'tcp', 'db', 5432)).toBe('timeout'); // db only from app
    expect(await ping('client', 'db')).toBe(false);
    expect(await flow('db', 'tcp', 'client', 22)).toBe('timeout'); // db may not open anything
    expect(await flow('db', 'udp', 'client', 5000)).toBe('timeout');
    expect(await drops(a, 'ingress')).toBeGreaterThan(before.a);
    expect(await drops(b, 'ingress')).toBeGreaterThanOrEqual(before.b + 2);
    expect(await drops(c, 'ingress')).toBeGreaterThanOrEqual(before.c + 2);
    expect(await drops(c, 'egress')).toBeGreaterThanOrEqual(before.cOut + 2);
    // The unfiltered client still talks to an unfiltered peer's ports as before: nothing changed for it.
    expect(await flow('web', 'tcp', 'client', 22)).toBe('ok');
  });

  it('db moved to another host keeps its rules: blocked stays blocked, allowed passes, an open connection survives', async () => {
    const long = h.spawn(ns.app, process.execPath, ['-e', longClientScript(IP.db, 5432)]);
    let echoes = 0;
    long.stdout?.on('data', (d: Buffer) => (echoes += d.toString().split('\n').filter((l) => l === 'e').length));
    await sleep(1000);
    expect(echoes).toBeGreaterThan(0);
    // The console's order: the new host (A, beside web) attaches with version 2, then the old one lets go.
    const g = groups();
    await a.update((s) => ({ ...s, vifs: [...s.vifs, vif('db', 2)], securityGroups: [g.web, g.db] }) as FullState);
    await c.update((s) => ({ ...s, vifs: [], securityGroups: [] }) as FullState);
    expect(await sgView(a, 'db')).toMatchObject({ version: 2, securityGroups: { groups: ['sg-db'] } });
    const atMove = echoes;
    const deadline = Date.now() + 15_000;
    while (echoes < atMove + 3 && Date.now() < deadline) await sleep(200);
    expect(echoes).toBeGreaterThanOrEqual(atMove + 3);
    await h.kill(long);
    expect(await flow('app', 'tcp', 'db', 5432)).toBe('ok');
    expect(await ping('app', 'db')).toBe(true);
    // What a live trace sees at app (host B): db's VARP entry on its new host, the connection, the rule.
    const seen = JSON.parse(await b.admin(`/v1/vifs/app%2Feth0/inspect?peer=${IP.db}&protocol=tcp&port=5432`)) as VifInspectData;
    expect(seen.peer.varp).toMatchObject({ coa: A, version: 2, state: 'REACHABLE' });
    expect(seen.verdict.egress).toEqual({ allowed: true, group: 'sg-app', rule: 'app-out' });
    expect(seen.connections.some((x) => x.to === `${IP.db}:5432` && x.direction === 'egress')).toBe(true);
    const atDb = JSON.parse(await a.admin(`/v1/vifs/db%2Feth0/inspect?peer=${IP.web}&protocol=tcp&port=5432`)) as VifInspectData;
    expect(atDb.peer.localPort).toBe('web/eth0');
    expect(atDb.verdict.ingress).toEqual({ allowed: false, group: null, rule: null });
    // web and db now share host A: the short path between them is filtered as well.
    const before = await drops(a, 'ingress');
    expect(await flow('web', 'tcp', 'db', 5432)).toBe('timeout');
    expect(await drops(a, 'ingress')).toBeGreaterThan(before);
    expect(await flow('db', 'tcp', 'client', 22)).toBe('timeout');
  });

  it('a new remote list for a rule changes what passes', async () => {
    const g = groups([`${IP.client}/32`]);
    await b.update((s) => ({ ...s, securityGroups: [g.app] }) as FullState);
    expect(await flow('client', 'tcp', 'app', 8080)).toBe('ok');
    expect(await flow('client', 'udp', 'app', 5000)).toBe('ok');
    expect(await flow('web', 'tcp', 'app', 8080)).toBe('timeout');
    // Back: web again, the client no more.
    const back = groups();
    await b.update((s) => ({ ...s, securityGroups: [back.app] }) as FullState);
    expect(await flow('web', 'tcp', 'app', 8080)).toBe('ok');
    expect(await flow('client', 'tcp', 'app', 8080)).toBe('timeout');
  });
});
