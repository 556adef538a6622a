// Security groups on the dataplane: the same two agents and TAP guests
// measured without security groups, then with both VIFs in a group of 10
// and of 100 rules (the allowing rules last, the others never matching this
// traffic), then without again, in one run. iperf3's TCP stream and UDP flow are established
// flows: after their first packet each costs one connection-tracking lookup
// per VIF, whatever the number of rules. Both agents stay on the userspace
// path (SOFTUDC_DATAPATH=userspace): a filtered VIF always goes through the
// agent, and an unfiltered one would otherwise ride the kernel fast path, so
// the rows would compare two paths instead of the rules' cost.
import type { NetnsHarness } from '../../test/netns/harness.ts';
import { AgentProcess, stateDir, type HostState } from '../../test/netns/agents.ts';
import type { GuestPair, Underlay } from './reference.ts';

/** One group of `n` rules: n - 2 that never match (TCP ports, other remotes), then egress anywhere and all from the vnet. */
export function benchGroup(n: number) {
  const rules: Record<string, unknown>[] = [];
  for (let i = 0; i < n - 2; i++) {
    rules.push({ id: `r${i}`, direction: i % 2 ? 'egress' : 'ingress', protocol: 'tcp', portFrom: 1000 + i, remote: [`172.${16 + (i % 16)}.${i % 256}.0/24`, '192.0.2.1/32'] });
  }
  rules.push({ id: 'out', direction: 'egress', protocol: 'any' }, { id: 'in', direction: 'ingress', protocol: 'any', remote: ['10.110.0.0/24'] });
  return { id: 'bench', name: `${n} rules`, rules };
}

/** None last again: the first row also pays the warm-up (JIT, resolution), the last shows how much. */
export const RULE_COUNTS = [0, 10, 100, 0] as const;

/** Measures the pair with 0, 10 and 100 rules per VIF; `measure` is the dataplane bench's measurePair. */
export async function groupsSection<R>(h: NetnsHarness, u: Underlay, measure: (path: string, pair: GuestPair) => Promise<R>): Promise<R[]> {
  const dir = await stateDir();
  const g1 = h.name('sgg1');
  const g2 = h.name('sgg2');
  h.track(g1);
  h.track(g2);
  const state = (host: string, address: string, peer: string, id: string, netns: string, n: number, rules: number, generation: number) => ({
    host, generation, underlay: { address, port: 1798, multicast: null, peers: [peer] }, vnets: [{ id: 110, security: 'none', mtu: 1400 }],
    vifs: [{ id, vnet: 110, mac: `02:5d:00:6e:00:0${n}`, ip: `10.110.0.${n}/24`, version: 1, guest: { kind: 'tap', ifname: 'eth0', netns }, ...(rules > 0 ? { securityGroups: ['bench'] } : {}) }],
    ...(rules > 0 ? { securityGroups: [benchGroup(rules)] } : {}),
  }) as unknown as HostState;
  const a = new AgentProcess(h, u.hA, `${dir.dir}/sgA.json`, state('hA', u.ipA, u.ipB, 'g1/eth0', g1, 1, 0, 1));
  const b = new AgentProcess(h, u.hB, `${dir.dir}/sgB.json`, state('hB', u.ipB, u.ipA, 'g2/eth0', g2, 2, 0, 1));
  a.env = b.env = { SOFTUDC_DATAPATH: 'userspace' };
  const out: R[] = [];
  try {
    await Promise.all([a.start(), b.start()]);
    const pair = { a: { ns: g1, ip: '10.110.0.1' }, b: { ns: g2, ip: '10.110.0.2' } };
    for (const [i, rules] of RULE_COUNTS.entries()) {
      if (i > 0) {
        await a.apply(state('hA', u.ipA, u.ipB, 'g1/eth0', g1, 1, rules, i + 1));
        await b.apply(state('hB', u.ipB, u.ipA, 'g2/eth0', g2, 2, rules, i + 1));
        await Promise.all([a.waitApplied(i + 1), b.waitApplied(i + 1)]);
      }
      const name = rules > 0 ? `agents (userspace), security groups: ${rules} rules per VIF` : i === 0 ? 'agents (userspace), no security groups' : 'agents (userspace), no security groups (again, last)';
      out.push(await measure(name, pair));
      // The groups did filter: rules were hit on both hosts.
      const hits = rules === 0 || ((await a.metrics()).includes('softudc_sg_rule_hits_total') && (await b.metrics()).includes('softudc_sg_rule_hits_total'));
      if (!hits) throw new Error(`security groups bench: no rule hits counted with ${rules} rules (were the groups applied?)`);
    }
  } finally {
    await a.stop();
    await b.stop();
    await dir.remove();
  }
  return out;
}
