// The designer's security group commands against an in-memory farm that
// behaves like the API where it matters (fresh ids on every create, a group
// in use as a remote not deleted): undo and redo bring back what was there,
// ids remapped, and a rule row reads back as the input it was made from.
import { describe, expect, it } from 'vitest';
import { CommandStack } from '../lib/graph/commands.ts';
import { specOfRow } from './security-groups.tsx';
import {
  addRuleCommand, createGroupCommand, deleteGroupCommand, deleteRuleCommand, setVifGroupsCommand, type SecurityGroupView, type SecurityOps,
  type SecurityRuleSpec,
} from './security-ops.ts';

function fakeOps() {
  let seq = 0;
  const t = new Date(0);
  const groups: SecurityGroupView[] = [];
  const vifs = new Map<string, string[]>([['vif-1', []]]);
  const must = (id: string) => {
    const g = groups.find((x) => x.id === id);
    if (!g) throw new Error(`no group ${id}`);
    return g;
  };
  const ruleOf = (spec: SecurityRuleSpec) => ({
    id: `r-${++seq}`, position: 0, direction: spec.direction, protocol: spec.protocol ?? 'any', portFrom: spec.portFrom ?? null,
    portTo: spec.portTo ?? spec.portFrom ?? null, icmpType: spec.icmpType ?? null, icmpCode: spec.icmpCode ?? null,
    remoteCidr: spec.remoteGroupId ? null : (spec.remoteCidr ?? '0.0.0.0/0'), remoteGroupId: spec.remoteGroupId ?? null, remoteGroup: null,
    description: spec.description ?? '',
  });
  const ops: SecurityOps = {
    async createGroup(s) {
      const g: SecurityGroupView = { id: `g-${++seq}`, farmId: 'f', name: s.name, description: s.description ?? '', createdAt: t, updatedAt: t, rules: (s.rules ?? []).map(ruleOf), members: [] };
      groups.push(g);
      return structuredClone(g);
    },
    async updateGroup(id, p) { Object.assign(must(id), p); },
    async deleteGroup(id) {
      if (groups.some((g) => g.id !== id && g.rules.some((r) => r.remoteGroupId === id))) throw new Error('still a remote');
      groups.splice(groups.indexOf(must(id)), 1);
    },
    async addRule(groupId, r) { const g = must(groupId); g.rules.push(ruleOf(r)); return structuredClone(g); },
    async updateRule() {},
    async deleteRule(id) { for (const g of groups) g.rules = g.rules.filter((r) => r.id !== id); },
    async setVifGroups(vifId, ids) { for (const id of ids) must(id); vifs.set(vifId, ids); },
    async setMode() {},
  };
  return { ops, groups, vifs };
}

describe('security group commands', () => {
  it('undoes and redoes creating a group, adding a rule and a membership, through new ids', async () => {
    const { ops, groups, vifs } = fakeOps();
    const stack = new CommandStack();
    await stack.run(createGroupCommand(ops, 'web'));
    const web = structuredClone(groups[0]!);
    await stack.run(addRuleCommand(ops, web, { direction: 'ingress', protocol: 'tcp', portFrom: 80 }));
    await stack.run(setVifGroupsCommand(ops, 'vm/eth0', 'vif-1', [], [web.id]));
    expect(vifs.get('vif-1')).toEqual([web.id]);
    await stack.undo();
    await stack.undo();
    await stack.undo();
    expect(groups).toEqual([]);
    expect(vifs.get('vif-1')).toEqual([]);
    await stack.redo();
    await stack.redo();
    await stack.redo();
    expect(groups.map((g) => [g.name, g.rules.map((r) => r.portFrom)])).toEqual([['web', [80]]]);
    expect(groups[0]!.id).not.toBe(web.id);
    expect(vifs.get('vif-1')).toEqual([groups[0]!.id]);
  });

  it('brings a deleted group back with its rules, a rule naming itself as remote included', async () => {
    const { ops, groups } = fakeOps();
    const g = await ops.createGroup({ name: 'default' });
    await ops.addRule(g.id, { direction: 'egress' });
    const withSelf = await ops.addRule(g.id, { direction: 'ingress', remoteGroupId: g.id });
    const stack = new CommandStack();
    await stack.run(deleteGroupCommand(ops, withSelf));
    expect(groups).toEqual([]);
    await stack.undo();
    const back = groups[0]!;
    expect(back.rules.map((r) => [r.direction, r.remoteCidr, r.remoteGroupId])).toEqual([['egress', '0.0.0.0/0', null], ['ingress', null, back.id]]);
    // Deleting one of its rules and undoing re-creates it.
    await stack.run(deleteRuleCommand(ops, back, back.rules[0]!));
    await stack.undo();
    expect(groups[0]!.rules.map((r) => r.direction).sort()).toEqual(['egress', 'ingress']);
  });

  it('reads a rule row as the input the API takes', () => {
    expect(specOfRow({ direction: 'ingress', protocol: 'tcp', ports: '80-443', icmp: '', remote: '10.0.0.0/8', description: 'web' })).toEqual({
      direction: 'ingress', protocol: 'tcp', portFrom: 80, portTo: 443, icmpType: null, icmpCode: null, remoteCidr: '10.0.0.0/8', remoteGroupId: null, description: 'web',
    });
    expect(specOfRow({ direction: 'ingress', protocol: 'icmp', ports: '', icmp: '8/0', remote: 'group:g-1', description: '' })).toMatchObject({
      portFrom: null, icmpType: 8, icmpCode: 0, remoteGroupId: 'g-1', remoteCidr: null,
    });
  });
});
