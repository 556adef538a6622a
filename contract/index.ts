// The contract between the console and its agents, in one place: every
// document that crosses between them, as zod schemas, and every limit both
// sides must agree on. server/ (compile, routers, services) and agent/ import
// it; neither defines these shapes or numbers anywhere else.
//
//   limits.ts     the shared limits (the web console uses them too)
//   primitives.ts integers and text every input schema is made of (what the database can store)
//   fields.ts     field types, and how objects treat fields they do not list
//   hostState.ts  the host desired state (`agent.desired`, `--state FILE`)
//   router.ts     its `routers[]`
//   firewall.ts   its `firewalls[]`
//   nat.ts        external legs of routers and firewalls: SNAT, floating IPs, port forwards
//   securityGroups.ts its `securityGroups[]` and `vifs[].securityGroups`
//   report.ts     the agent's report (`agent.report`)
//   commands.ts   router manager commands and their answers (`agent.commands`, `agent.commandResult`)
//   enroll.ts     enrollment (`host.enroll`) and the prefixes of its secrets
//   docs.ts       docs/agent-state.md's field tables, generated from the above
export * from './limits.ts';
export * from './primitives.ts';
export * from './fields.ts';
export * from './hostState.ts';
export * from './router.ts';
export * from './firewall.ts';
export * from './nat.ts';
export * from './securityGroups.ts';
export * from './report.ts';
export * from './commands.ts';
export * from './enroll.ts';
