export * from './types.ts';
export { compile, canonicalJson, stateHash, derivedMac, tapDeviceName, CompileError, LINK_VNID_TOP } from './compile.ts';
export { diffHost, diffStates, type HostDiff, type ItemDiff } from './diff.ts';
