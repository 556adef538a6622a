export { Varp, type Source } from './varp.ts';
export {
  DEFAULT_VARP_CONFIG,
  varpConfig,
  type LocalVif,
  type Resolution,
  type Route,
  type VarpConfig,
  type VarpEntryView,
  type VarpIo,
  type VarpState,
} from './types.ts';
export { VARP_COUNTERS, frameDropped, messageIgnored, type FrameDropReason, type HeldDropReason, type IgnoreReason } from './counters.ts';
