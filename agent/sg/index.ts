// Security groups at the VIF (contract/securityGroups.ts): compiled rules and the per-VIF stateful filter.
export { VifFilter, sgBudget, SG_CONNTRACK_MAX, SG_HOST_CONNECTIONS_MAX, SG_DROP_REASONS, type SgDropReason, type VifFilterDeps } from './filter.ts';
export { SgDropLog, SG_LOG_BURST, SG_LOG_RATE } from './log.ts';
export { connView, protocolName, ruleView, type SgConnView, type SgRuleView, type SgVifView } from './view.ts';
export { compileGroups, matchSg, type CompiledSgRule, type SgDirection, type SgPacket } from './rules.ts';
export { AddressMatcher, SgCatalog } from './sets.ts';
