// Rows: security groups. A three-tier farm (client, web, app, db on one
// vnet, each VM on its own host) protected only by security groups, no
// firewall node: the groups, rules and memberships are made through the API
// (securityGroup.create, vif.setSecurityGroups), the agents enforce them at
// each VIF, and kernel traffic between the guests proves what passes and what
// is dropped and counted; then the db VM migrates and keeps its rules, and a
// membership change opens a remote-group flow in one deploy.
import { expect } from 'vitest';
import { waitFor } from '../managed-agent.ts';
import { metricSum } from '../netns/agents.ts';
import { MatrixFarm, type Guest, type VmView } from './farm.ts';
import { once, row } from './row.ts';
import { heldTcp, listen, ping, reaches, tcpConnect, udpAsk } from './traffic.ts';
import type { HostName, MatrixWorld } from './world.ts';

const PORTS = { web: 8080, webClosed: 8081, app: 9000, dbTcp: 5432, dbUdp: 5400 };

interface Tiers {
  f: MatrixFarm;
  g: { client: Guest; web: Guest; app: Guest; db: Guest };
  vms: Record<'client' | 'web' | 'app' | 'db', VmView>;
  groups: Record<'clients' | 'web' | 'app' | 'db', { id: string; name: string; rules: Array<{ id: string }> }>;
}

export function sgRows(world: () => MatrixWorld) {
  /** The host's security group counters from its /metrics: drops for want of a rule (both directions), all drops, per-rule hits. */
  const sgCounters = async (host: HostName) => {
    const text = await world().hosts[host].agent.metrics();
    const hits = new Map<string, number>();
    for (const m of text.matchAll(/^softudc_sg_rule_hits_total\{[^}]*rule="([^"]+)"\}\s+(\S+)/gm)) hits.set(m[1]!, (hits.get(m[1]!) ?? 0) + Number(m[2]));
    // Drops for want of a rule; IPv6 the guests' kernels send by themselves is dropped too, under reason "ethertype".
    let noRule = 0;
    for (const m of text.matchAll(/^softudc_sg_drops_total\{[^}]*reason="no_rule"[^}]*\}\s+(\S+)/gm)) noRule += Number(m[1]);
    return { drops: noRule, all: metricSum(text, 'softudc_sg_drops_total'), hits };
  };
  const dropsOn = async (hosts: HostName[]) => Object.fromEntries(await Promise.all(hosts.map(async (x) => [x, (await sgCounters(x)).drops] as const))) as Record<HostName, number>;

  const tiers = once(async (): Promise<Tiers> => {
    const w = world();
    const { api } = w;
    const f = await MatrixFarm.create(w, 'tiers');
    const lan = await f.vnet('lan', '10.70.0.0/24');
    const group = async (name: string, rules: Parameters<typeof api.securityGroup.create.mutate>[0]['rules']) =>
      (await f.edit((rev) => api.securityGroup.create.mutate({ farmId: f.id, expectedRevision: rev, name, rules }))).securityGroup;
    // Groups first (rules naming a remote group need it to exist), their rules after.
    const groups = { clients: await group('clients', []), web: await group('web', []), app: await group('app', []), db: await group('db', []) };
    const rule = (groupId: string, r: Omit<Parameters<typeof api.securityGroup.addRule.mutate>[0], 'groupId' | 'expectedRevision'>) =>
      f.edit((rev) => api.securityGroup.addRule.mutate({ groupId, expectedRevision: rev, ...r }));
    await rule(groups.clients.id, { direction: 'egress', description: 'anything out' });
    await rule(groups.web.id, { direction: 'ingress', protocol: 'tcp', portFrom: PORTS.web, description: 'http from anywhere' });
    await rule(groups.web.id, { direction: 'ingress', protocol: 'icmp', icmpType: 8, description: 'echo requests' });
    await rule(groups.web.id, { direction: 'egress', protocol: 'tcp', portFrom: PORTS.app, remoteGroupId: groups.app.id, description: 'to the app tier' });
    await rule(groups.app.id, { direction: 'ingress', protocol: 'tcp', portFrom: PORTS.app, remoteGroupId: groups.web.id, description: 'from the web tier' });
    await rule(groups.app.id, { direction: 'egress', protocol: 'tcp', portFrom: PORTS.dbTcp, remoteGroupId: groups.db.id, description: 'db over tcp' });
    await rule(groups.app.id, { direction: 'egress', protocol: 'udp', portFrom: PORTS.dbUdp, remoteGroupId: groups.db.id, description: 'db over udp' });
    await rule(groups.db.id, { direction: 'ingress', protocol: 'tcp', portFrom: PORTS.dbTcp, remoteGroupId: groups.app.id, description: 'tcp from the app tier' });
    const last = await rule(groups.db.id, { direction: 'ingress', protocol: 'udp', portFrom: PORTS.dbUdp, remoteGroupId: groups.app.id, description: 'udp from the app tier' });
    const vms = {
      client: await f.vm('client', 'h1', lan, '10.70.0.10'),
      web: await f.vm('web', 'h2', lan, '10.70.0.20'),
      app: await f.vm('app', 'h3', lan, '10.70.0.30'),
      db: await f.vm('db', 'h4', lan, '10.70.0.40'),
    };
    const member: Record<keyof typeof vms, string> = { client: groups.clients.id, web: groups.web.id, app: groups.app.id, db: groups.db.id };
    for (const [name, vm] of Object.entries(vms) as Array<[keyof typeof vms, VmView]>) {
      await f.edit((rev) => api.vif.setSecurityGroups.mutate({ vifId: vm.vifs[0]!.id, expectedRevision: rev, groupIds: [member[name]] }));
    }
    const listed = (await api.securityGroup.list.query({ farmId: f.id })).items;
    await f.deploy();
    const [client, web, app, db] = (await Promise.all([f.boot(vms.client), f.boot(vms.web), f.boot(vms.app), f.boot(vms.db)])) as [Guest, Guest, Guest, Guest];
    // Listeners on every port probed (the harness ends them with the run): a blocked flow times out, never refused.
    await listen(w.h, web, { tcp: [PORTS.web, PORTS.webClosed] });
    await listen(w.h, app, { tcp: [PORTS.app] });
    await listen(w.h, db, { tcp: [PORTS.dbTcp], udp: [PORTS.dbUdp] });
    const named = (n: string) => listed.find((x) => x.name === n)!;
    const withRules = { clients: named('clients'), web: named('web'), app: named('app'), db: named('db') };
    expect(last.securityGroup.rules).toHaveLength(2);
    return { f, g: { client, web, app, db }, vms, groups: withRules };
  });

  const enforced = () =>
    row('security groups: three tiers, no firewall', async (note) => {
      const w = world();
      const { h } = w;
      const { g, groups } = await tiers();
      // ARP is not filtered: the first ping from client to web resolves it and passes (web lets echo requests in).
      expect(await reaches(h, g.client, g.web.ip), w.agentLogs()).toBe(true);
      const hosts: HostName[] = ['h1', 'h2', 'h3', 'h4'];
      const before = await dropsOn(hosts);
      const allowed = {
        'client→web tcp/8080': await tcpConnect(h, g.client.ns, g.web.ip, PORTS.web),
        'client→web ping': `${(await ping(h, g.client, g.web.ip, 5)).received}/5`,
        'web→app tcp/9000': await tcpConnect(h, g.web.ns, g.app.ip, PORTS.app),
        'app→db tcp/5432': await tcpConnect(h, g.app.ns, g.db.ip, PORTS.dbTcp),
        'app→db udp/5400': await udpAsk(h, g.app.ns, g.db.ip, PORTS.dbUdp),
      };
      const allowedDrops = await dropsOn(hosts);
      const blocked = {
        'client→web tcp/8081': await tcpConnect(h, g.client.ns, g.web.ip, PORTS.webClosed),
        'client→app tcp/9000': await tcpConnect(h, g.client.ns, g.app.ip, PORTS.app),
        'client→db tcp/5432': await tcpConnect(h, g.client.ns, g.db.ip, PORTS.dbTcp),
        'client→db udp/5400': await udpAsk(h, g.client.ns, g.db.ip, PORTS.dbUdp),
        'web→db tcp/5432': await tcpConnect(h, g.web.ns, g.db.ip, PORTS.dbTcp),
        'app→web ping': `${(await ping(h, g.app, g.web.ip, 3)).received}/3`,
        'db→app tcp/9000': await tcpConnect(h, g.db.ns, g.app.ip, PORTS.app),
        'client→app ping': `${(await ping(h, g.client, g.app.ip, 3)).received}/3`,
      };
      const after = await dropsOn(hosts);
      const dropped = Object.fromEntries(hosts.map((x) => [x, after[x] - allowedDrops[x]])) as Record<HostName, number>;
      const hits = { h2: (await sgCounters('h2')).hits, h3: (await sgCounters('h3')).hits, h4: (await sgCounters('h4')).hits };
      const hitOf = (host: 'h2' | 'h3' | 'h4', group: keyof Tiers['groups'], i: number) => hits[host].get(groups[group].rules[i]!.id) ?? 0;
      const ruleHits = {
        'web in tcp/8080': hitOf('h2', 'web', 0),
        'web in icmp': hitOf('h2', 'web', 1),
        'web out tcp/9000': hitOf('h2', 'web', 2),
        'app in tcp/9000': hitOf('h3', 'app', 0),
        'db in tcp/5432': hitOf('h4', 'db', 0),
        'db in udp/5400': hitOf('h4', 'db', 1),
      };
      const list = (o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
      note(
        `security groups, three tiers (client h1, web h2, app h3, db h4, one vnet, no firewall node, groups and memberships through the API): ` +
          `allowed (replies included) ${list(allowed)}; blocked ${list(blocked)}; softudc_sg_drops_total{reason="no_rule"} grew by ${list(dropped)} during the blocked probes ` +
          `(${list(Object.fromEntries(hosts.map((x) => [x, allowedDrops[x] - before[x]])))} during the allowed ones); rule hits ${list(ruleHits)}`,
      );
      expect(allowed).toEqual({ 'client→web tcp/8080': 'connected', 'client→web ping': '5/5', 'web→app tcp/9000': 'connected', 'app→db tcp/5432': 'connected', 'app→db udp/5400': 'answered' });
      for (const [k, v] of Object.entries(blocked)) expect(v, k).toMatch(/^(timed out|0\/3)$/);
      // Allowed flows and their replies cost no drop anywhere; every blocked one is dropped where its rules say.
      for (const x of hosts) expect(allowedDrops[x] - before[x], x).toBe(0);
      expect(dropped.h2).toBeGreaterThanOrEqual(1 + 1); // client→web tcp/8081 at web's ingress, web→db at web's egress (each SYN at least once)
      expect(dropped.h3).toBeGreaterThanOrEqual(1 + 3 + 3); // client→app tcp, app→web ping at app's egress, client→app ping at app's ingress
      expect(dropped.h4).toBeGreaterThanOrEqual(1 + 1 + 1); // client→db tcp, client→db udp, db→app at db's egress
      for (const [k, v] of Object.entries(ruleHits)) expect(v, k).toBeGreaterThanOrEqual(1);
    });

  const migration = () =>
    row('security groups: a migrated VM keeps its rules', async (note) => {
      const w = world();
      const { h, api } = w;
      const t = await tiers();
      const { f, g } = t;
      expect(await reaches(h, g.client, g.web.ip), w.agentLogs()).toBe(true);
      const beforeMove = { blocked: await tcpConnect(h, g.client.ns, g.db.ip, PORTS.dbTcp), allowed: await udpAsk(h, g.app.ns, g.db.ip, PORTS.dbUdp) };
      // An established connection across the move: app writes a byte every 100 ms, db echoes it.
      const held = heldTcp(h, g.app.ns, g.db.ip, PORTS.dbTcp, 12);
      await new Promise((r) => setTimeout(r, 1000));
      const dest = w.hosts.h5;
      // The hypervisor's part: the VM continues on h5 once the agent there has its TAP up.
      const hypervisorMove = waitFor(async () => {
        const r = await h.exec(dest.ns, 'ip', ['-j', 'link', 'show', 'dev', g.db.tap]);
        if (r.code !== 0 || !(JSON.parse(r.stdout) as Array<{ flags: string[] }>)[0]?.flags.includes('UP')) return false;
        await w.hosts.h4.hv.detach(g.db.tap);
        await dest.hv.attach({ tap: g.db.tap, netns: g.db.ns, mac: g.db.mac, cidr: `${g.db.ip}/24`, mtu: 1400 });
        return true;
      }, `the TAP of db on ${dest.name}`, 30_000, 20);
      const moved = await api.vm.migrate.mutate({ id: g.db.id, hostId: dest.id, expectedRevision: f.rev, wait: true, timeoutMs: 30_000 });
      f.rev = moved.farmRevision;
      await hypervisorMove;
      const switchedAt = Date.now();
      g.db = { ...g.db, host: 'h5' };
      const report = (await api.host.report.query({ id: dest.id })).report?.vifs?.find((v) => v.mac === g.db.mac);
      const reportedGroups = ((report?.securityGroups as { groups?: string[] } | undefined)?.groups ?? []).map((id) => Object.values(t.groups).find((x) => x.id === id)?.name ?? id);
      const dropsBefore = await dropsOn(['h5']);
      // An allowed flow works again once the guest's neighbours learn where it is (the first datagrams may meet the old port).
      let again = 'timed out';
      const movedAt = Date.now();
      await waitFor(async () => (again = await udpAsk(h, g.app.ns, g.db.ip, PORTS.dbUdp)) === 'answered', 'app→db udp/5400 after the move', 20_000, 100);
      const againS = (Date.now() - movedAt) / 1000;
      const afterMove = {
        'app→db tcp/5432': await tcpConnect(h, g.app.ns, g.db.ip, PORTS.dbTcp),
        'client→db tcp/5432': await tcpConnect(h, g.client.ns, g.db.ip, PORTS.dbTcp),
        'client→db udp/5400': await udpAsk(h, g.client.ns, g.db.ip, PORTS.dbUdp),
        'db→app tcp/9000': await tcpConnect(h, g.db.ns, g.app.ip, PORTS.app),
      };
      const drops = (await dropsOn(['h5'])).h5 - dropsBefore.h5;
      const kept = await held;
      const echoedAfter = kept.echoes.filter((x) => x > switchedAt).length;
      const gapMs = kept.echoes.reduce((m, x, i) => (i > 0 ? Math.max(m, x - kept.echoes[i - 1]!) : m), 0);
      const dbHits = (await sgCounters('h5')).hits;
      const hits = t.groups.db.rules.map((r) => dbHits.get(r.id) ?? 0);
      note(
        `security groups, migration: vm.migrate db h4 → h5 (moved ${moved.vm.hostName}, h5 reports its VIF in groups ${reportedGroups.join(', ')}); ` +
          `before: client→db tcp/5432 ${beforeMove.blocked}, app→db udp/5400 ${beforeMove.allowed}; after: app→db udp/5400 ${again} (${againS.toFixed(1)} s after the move), ` +
          `${Object.entries(afterMove).map(([k, v]) => `${k} ${v}`).join(', ')}; a tcp/5432 connection app→db held across the move: ${kept.echoes.length} of ${kept.sent} bytes echoed, ` +
          `${echoedAfter} after the switch, longest gap ${gapMs} ms${kept.error ? `, error ${kept.error}` : ''}; h5 dropped ${drops} (softudc_sg_drops_total{reason="no_rule"}), db's rules hit on h5 ${hits.join(', ')}`,
      );
      expect(moved.timedOut).toBe(false);
      expect(moved.vm.hostName).toBe('h5');
      expect(beforeMove).toEqual({ blocked: 'timed out', allowed: 'answered' });
      expect(again).toBe('answered');
      expect(afterMove).toEqual({ 'app→db tcp/5432': 'connected', 'client→db tcp/5432': 'timed out', 'client→db udp/5400': 'timed out', 'db→app tcp/9000': 'timed out' });
      expect(reportedGroups).toEqual(['db']);
      expect(kept.error).toBeUndefined();
      expect(echoedAfter).toBeGreaterThanOrEqual(10);
      expect(kept.echoes.length).toBeGreaterThanOrEqual(kept.sent - 2); // the last writes may be in flight when it stops
      expect(drops).toBeGreaterThanOrEqual(3);
      expect(hits.every((n) => n >= 1)).toBe(true);
    });

  const remoteGroup = () =>
    row('security groups: a remote group follows its members', async (note) => {
      const w = world();
      const { h, api } = w;
      const { f, g, vms, groups } = await tiers();
      expect(await reaches(h, g.client, g.web.ip), w.agentLogs()).toBe(true);
      const blocked = await tcpConnect(h, g.web.ns, g.db.ip, PORTS.dbTcp);
      // web joins app: db's ingress rules (remote group app) and app's egress rules now cover web.
      await f.edit((rev) => api.vif.setSecurityGroups.mutate({ vifId: vms.web.vifs[0]!.id, expectedRevision: rev, groupIds: [groups.web.id, groups.app.id] }));
      const started = Date.now();
      await f.deploy();
      const deployS = (Date.now() - started) / 1000;
      const passes = await tcpConnect(h, g.web.ns, g.db.ip, PORTS.dbTcp);
      const udp = await udpAsk(h, g.web.ns, g.db.ip, PORTS.dbUdp);
      const stillBlocked = await tcpConnect(h, g.client.ns, g.db.ip, PORTS.dbTcp);
      // And back: web leaves app, one more deploy, the flow is blocked again.
      await f.edit((rev) => api.vif.setSecurityGroups.mutate({ vifId: vms.web.vifs[0]!.id, expectedRevision: rev, groupIds: [groups.web.id] }));
      await f.deploy();
      const blockedAgain = await tcpConnect(h, g.web.ns, g.db.ip, PORTS.dbTcp);
      note(
        `security groups, remote group: web→db tcp/5432 ${blocked} while web is not in app; vif.setSecurityGroups web +app and one farm.deploy ` +
          `(${deployS.toFixed(1)} s): web→db tcp/5432 ${passes}, udp/5400 ${udp}, client→db tcp/5432 still ${stillBlocked}; ` +
          `web leaves app, one deploy: web→db tcp/5432 ${blockedAgain}`,
      );
      expect(blocked).toBe('timed out');
      expect(passes).toBe('connected');
      expect(udp).toBe('answered');
      expect(stillBlocked).toBe('timed out');
      expect(blockedAgain).toBe('timed out');
    });

  return { enforced, migration, remoteGroup };
}
