// Security groups in the designer (docs/security-groups.md): the API
// operations, sent with the page's revision like every other edit
// (farm-ops.ts), and the undoable commands the groups panel and the VIF form
// run. Undoing a delete re-creates the group or rule under a new id, which
// the command stack remaps (commands.ts).
import type { inferRouterInputs } from '@trpc/server';
import type { AppRouter } from '../../server/routers/_app.ts';
import type { ApiClient } from '../lib/trpc.ts';
import type { Command } from '../lib/graph/commands.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';
import type { RevisionRef } from './farm-ops.ts';

type In = inferRouterInputs<AppRouter>;
export type SecurityGroupView = FarmDetail['securityGroups'][number];
export type SecurityRuleView = SecurityGroupView['rules'][number];
export type SecurityRuleSpec = Omit<In['securityGroup']['addRule'], 'groupId' | 'expectedRevision'>;
export type SecurityMode = FarmDetail['securityGroupMode'];

export interface SecurityOps {
  createGroup(s: { name: string; description?: string; rules?: SecurityRuleSpec[] }): Promise<SecurityGroupView>;
  updateGroup(id: string, p: { name?: string; description?: string }): Promise<void>;
  deleteGroup(id: string): Promise<void>;
  addRule(groupId: string, r: SecurityRuleSpec): Promise<SecurityGroupView>;
  updateRule(id: string, r: Partial<SecurityRuleSpec>): Promise<void>;
  deleteRule(id: string): Promise<void>;
  setVifGroups(vifId: string, groupIds: string[]): Promise<void>;
  setMode(mode: SecurityMode): Promise<void>;
}

export function makeSecurityOps(client: ApiClient, farmId: string, rev: RevisionRef): SecurityOps {
  const write = async <T extends { farmRevision: number }>(send: (expectedRevision: number) => Promise<T>): Promise<T> => {
    const out = await send(rev.current);
    rev.current = out.farmRevision;
    return out;
  };
  const done = () => undefined;
  const sg = client.securityGroup;
  return {
    createGroup: (s) => write((e) => sg.create.mutate({ ...s, farmId, expectedRevision: e })).then((r) => r.securityGroup),
    updateGroup: (id, p) => write((e) => sg.update.mutate({ ...p, id, expectedRevision: e })).then(done),
    deleteGroup: (id) => write((e) => sg.delete.mutate({ id, expectedRevision: e })).then(done),
    addRule: (groupId, r) => write((e) => sg.addRule.mutate({ ...r, groupId, expectedRevision: e })).then((x) => x.securityGroup),
    updateRule: (id, r) => write((e) => sg.updateRule.mutate({ ...r, id, expectedRevision: e })).then(done),
    deleteRule: (id) => write((e) => sg.deleteRule.mutate({ id, expectedRevision: e })).then(done),
    setVifGroups: (vifId, groupIds) => write((e) => client.vif.setSecurityGroups.mutate({ vifId, groupIds, expectedRevision: e })).then(done),
    setMode: (mode) => write((e) => sg.setMode.mutate({ farmId, mode, expectedRevision: e })).then(done),
  };
}

/** A stored rule as the input that would make it again (its remote group by current id). */
export function specOf(r: SecurityRuleView, id: (original: string) => string = (x) => x): SecurityRuleSpec {
  return {
    direction: r.direction, protocol: r.protocol, portFrom: r.portFrom, portTo: r.portTo, icmpType: r.icmpType, icmpCode: r.icmpCode,
    ...(r.remoteGroupId !== null ? { remoteGroupId: id(r.remoteGroupId) } : { remoteCidr: r.remoteCidr }), description: r.description,
  };
}

export function createGroupCommand(ops: SecurityOps, name: string): Command {
  let original: string | null = null;
  return {
    label: `add security group ${name}`,
    async do(ctx) {
      const g = await ops.createGroup({ name });
      if (original === null) original = g.id;
      else ctx.remap(original, g.id);
    },
    undo: (ctx) => ops.deleteGroup(ctx.id(original!)),
  };
}

export function deleteGroupCommand(ops: SecurityOps, g: SecurityGroupView): Command {
  return {
    label: `delete security group ${g.name}`,
    do: (ctx) => ops.deleteGroup(ctx.id(g.id)),
    async undo(ctx) {
      // Rules naming the group itself as remote are added once it exists again.
      const own = (r: SecurityRuleView) => r.remoteGroupId === g.id;
      const made = await ops.createGroup({ name: g.name, description: g.description, rules: g.rules.filter((r) => !own(r)).map((r) => specOf(r, ctx.id)) });
      ctx.remap(g.id, made.id);
      for (const r of g.rules.filter(own)) await ops.addRule(made.id, specOf(r, ctx.id));
    },
  };
}

export function renameGroupCommand(ops: SecurityOps, g: SecurityGroupView, after: { name: string; description: string }): Command {
  return {
    label: `edit security group ${g.name}`,
    do: (ctx) => ops.updateGroup(ctx.id(g.id), after),
    undo: (ctx) => ops.updateGroup(ctx.id(g.id), { name: g.name, description: g.description }),
  };
}

export function addRuleCommand(ops: SecurityOps, group: SecurityGroupView, spec: SecurityRuleSpec): Command {
  let original: string | null = null;
  return {
    label: `add a rule to ${group.name}`,
    async do(ctx) {
      const g = await ops.addRule(ctx.id(group.id), { ...spec, ...(spec.remoteGroupId ? { remoteGroupId: ctx.id(spec.remoteGroupId) } : {}) });
      const made = g.rules.at(-1)!.id;
      if (original === null) original = made;
      else ctx.remap(original, made);
    },
    undo: (ctx) => ops.deleteRule(ctx.id(original!)),
  };
}

export function updateRuleCommand(ops: SecurityOps, group: SecurityGroupView, rule: SecurityRuleView, after: SecurityRuleSpec): Command {
  return {
    label: `edit a rule of ${group.name}`,
    do: (ctx) => ops.updateRule(ctx.id(rule.id), { ...after, ...(after.remoteGroupId ? { remoteGroupId: ctx.id(after.remoteGroupId) } : {}) }),
    undo: (ctx) => ops.updateRule(ctx.id(rule.id), specOf(rule, ctx.id)),
  };
}

export function deleteRuleCommand(ops: SecurityOps, group: SecurityGroupView, rule: SecurityRuleView): Command {
  return {
    label: `delete a rule of ${group.name}`,
    do: (ctx) => ops.deleteRule(ctx.id(rule.id)),
    async undo(ctx) {
      const g = await ops.addRule(ctx.id(group.id), specOf(rule, ctx.id));
      ctx.remap(rule.id, g.rules.at(-1)!.id);
    },
  };
}

export function setVifGroupsCommand(ops: SecurityOps, label: string, vifId: string, before: string[], after: string[]): Command {
  return {
    label: `set the security groups of ${label}`,
    do: (ctx) => ops.setVifGroups(ctx.id(vifId), after.map((g) => ctx.id(g))),
    undo: (ctx) => ops.setVifGroups(ctx.id(vifId), before.map((g) => ctx.id(g))),
  };
}

export function setModeCommand(ops: SecurityOps, before: SecurityMode, after: SecurityMode): Command {
  return {
    label: `set the security group mode to ${after}`,
    do: () => ops.setMode(after),
    undo: () => ops.setMode(before),
  };
}
