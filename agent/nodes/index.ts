// This host's virtual routers and firewalls, run from the desired state.
export { NodeManager, type NodeAttachment, type NodeApplyResult, type NodeManagerOptions, type NodeState } from './manager.ts';
