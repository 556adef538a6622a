export * from './seal.ts';
export { REPLAY_WINDOW, ReplayWindow, type ReplayVerdict } from './replay.ts';
export { VnetKeyring, type KeyMaterial, type Opened, type SealRxDrop, type SealTxDrop } from './keyring.ts';
export { COUNTER_MAX, FileSequenceStore, MemorySequenceStore, SEQUENCE_BLOCK, type SequenceStore } from './sequence.ts';
export { SealedVnets, type VnetKeysSpec } from './vnets.ts';
