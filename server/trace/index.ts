export { traceFlow, TraceInputError, TRACE_SRC_PORT, describeFirewallRule } from './engine.ts';
export { checkGroups } from './groups.ts';
export * from './types.ts';
