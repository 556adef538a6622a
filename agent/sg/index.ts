// Security groups at the VIF (contract/securityGroups.ts): compiled rules and the per-VIF stateful filter.
export { VifFilter, SgDropLog, SG_CONNTRACK_MAX, SG_DROP_REASONS, protocolName, type SgDropReason, type SgVifView, type SgRuleView, type SgConnView, type VifFilterDeps } from './filter.ts';
export { ruleView, connView } from './filter.ts';
export { compileGroups, matchSg, type CompiledSgRule, type SgDirection, type SgPacket } from './rules.ts';
