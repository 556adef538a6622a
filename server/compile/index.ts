export * from './types.ts';
export { compile, canonicalJson, stateHash, derivedMac, tapDeviceName, CompileError, LINK_VNID_MIN, LINK_VNID_TOP } from './compile.ts';
export { compileFarm } from './farm.ts';
export { affectedHosts, assemble, neededHosts, relayFor, type AssembleInput } from './assemble.ts';
export { diffHost, diffStates, type HostDiff, type ItemDiff } from './diff.ts';
