import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from './agent.ts';
import { silentLogger } from '../log.ts';
import { EmulatedGuest } from '../guests/index.ts';
import { commandArgs, vifInspectData } from '../../contract/commands.ts';
import { CommandError, executeCommand } from '../control/execute.ts';
import type { AgentStateInput } from '../state.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const running: Agent[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
});

const vif = (id: string, n: number, groups?: string[]) => ({
  id, vnet: 7, mac: `02:5d:00:00:07:${n.toString(16).padStart(2, '0')}`, ip: `10.7.0.${n}/24`, version: 1, guest: { kind: 'emulated' as const },
  ...(groups ? { securityGroups: groups } : {}),
});
function state(host: string, address: string, peer: string, vifs: ReturnType<typeof vif>[], securityGroups: unknown[] = []): AgentStateInput {
  return { host, generation: 1, underlay: { address, port: PORT, multicast: null, peers: [peer] }, vnets: [{ id: 7, security: 'none' }], vifs, securityGroups } as AgentStateInput;
}
async function agent(s: AgentStateInput): Promise<Agent> {
  const a = new Agent({ state: s, logger: silentLogger, datapath: 'userspace' });
  running.push(a);
  await a.start();
  return a;
}
const guest = (a: Agent, id: string) => a.guest(id) as EmulatedGuest;
const args = (a: Record<string, unknown>) => commandArgs['vif.inspect'].parse(a);

describe('vif.inspect: the live state of a VIF for a trace', () => {
  it('shows the VARP entry of a peer, the connection with it, the verdicts each way and the rules\' hits', async () => {
    const groups = [
      { id: 'g1', rules: [{ id: 'out', direction: 'egress' }, { id: 'ping-in', direction: 'ingress', protocol: 'icmp', icmpType: 8, remote: ['10.7.0.20/32'] }] },
      { id: 'g2', rules: [{ id: 'ssh', direction: 'ingress', protocol: 'tcp', portFrom: 22 }] },
    ];
    const h1 = await agent(state('h1', '127.0.0.2', '127.0.0.3', [vif('a', 10, ['g1']), vif('b', 11, ['g2'])], groups));
    const h2 = await agent(state('h2', '127.0.0.3', '127.0.0.2', [vif('e', 20)]));
    expect((await guest(h1, 'a').ping('10.7.0.20', { timeoutMs: 1000 })).received).toBe(1);
    expect((await guest(h2, 'e').ping('10.7.0.10', { timeoutMs: 1000 })).received).toBe(1);
    expect((await guest(h1, 'b').ping('10.7.0.20', { timeoutMs: 300 })).received).toBe(0); // b may open nothing

    const a = vifInspectData.parse(h1.inspectVif(args({ vifId: 'a', peer: '10.7.0.20', protocol: 'icmp' })));
    expect(a.vif).toMatchObject({ id: 'a', vnet: 7, mac: '02:5d:00:00:07:0a', version: 1, path: 'userspace' });
    expect(a).toMatchObject({ filtered: true, groups: ['g1'] });
    expect(a.peer).toMatchObject({ ip: '10.7.0.20', localPort: null, varp: { mac: '02:5d:00:00:07:14', coa: '127.0.0.3', state: 'REACHABLE', version: 1 } });
    expect(a.peer.varp!.ageMs).toBeGreaterThanOrEqual(0);
    expect(a.verdict).toEqual({ egress: { allowed: true, group: 'g1', rule: 'out' }, ingress: { allowed: true, group: 'g1', rule: 'ping-in' } });
    expect(a.connections.map((c) => c.direction).sort()).toEqual(['egress', 'ingress']);
    expect(a.connections.every((c) => c.protocol === 'icmp' && c.group === 'g1')).toBe(true);
    expect(a.rules.find((r) => r.rule === 'out')?.hits).toBe(1);
    expect(a.rules.find((r) => r.rule === 'ping-in')?.hits).toBe(1);

    // A local peer, and a flow nothing allows.
    const local = vifInspectData.parse(h1.inspectVif(args({ vifId: 'a', peer: '10.7.0.11', protocol: 'tcp', port: 22 })));
    expect(local.peer.localPort).toBe('b');
    expect(local.verdict.ingress).toEqual({ allowed: false, group: null, rule: null });
    expect(local.connections).toEqual([]);
    const b = vifInspectData.parse(h1.inspectVif(args({ vifId: 'b', peer: '10.7.0.20', protocol: 'tcp', port: 22 })));
    expect(b.verdict).toEqual({ egress: { allowed: false, group: null, rule: null }, ingress: { allowed: true, group: 'g2', rule: 'ssh' } });
    expect(b.drops.egress.no_rule).toBeGreaterThanOrEqual(1);

    // An unfiltered VIF: every verdict passes, nothing tracked.
    const e = vifInspectData.parse(h2.inspectVif(args({ vifId: 'e', peer: '10.7.0.10' })));
    expect(e).toMatchObject({ filtered: false, groups: [], rules: [], connections: [], verdict: { egress: { allowed: true }, ingress: { allowed: true } } });
    expect(e.peer.varp).toMatchObject({ coa: '127.0.0.2' });
  });

  it('as a command: one answer, or an error naming a VIF that is not here; bad arguments name the field', async () => {
    const h = await agent(state('h1', '127.0.0.2', '127.0.0.3', [vif('a', 10, [])], []));
    const nodes = { router: () => undefined, firewall: () => undefined, inspectVif: h.inspectVif.bind(h) };
    const out = [];
    for await (const o of executeCommand(nodes, { id: 'c1', kind: 'vif.inspect', args: args({ vifId: 'a', peer: '10.7.0.99' }) })) out.push(o);
    expect(out).toHaveLength(1);
    expect(out[0]!.done).toBe(true);
    expect(vifInspectData.parse(out[0]!.data)).toMatchObject({ filtered: true, groups: [], peer: { varp: null, localPort: null }, verdict: { egress: { allowed: false } } });
    const missing = executeCommand(nodes, { id: 'c2', kind: 'vif.inspect', args: args({ vifId: 'gone', peer: '10.7.0.99' }) });
    await expect(missing.next()).rejects.toThrow(CommandError);
    expect(commandArgs['vif.inspect'].safeParse({ vifId: 'a', peer: '10.7.0' }).error?.issues[0]?.path).toEqual(['peer']);
    expect(commandArgs['vif.inspect'].safeParse({ vifId: 'a', peer: '10.7.0.1', port: 70000 }).error?.issues[0]?.path).toEqual(['port']);
  });
});
