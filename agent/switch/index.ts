export { Switch, type Activation, type FrameDropReason, type PortFilter, type Sealer, type Security, type SwitchIo, type SwitchPort, type SwitchVarp, type Uplink, type VnetConfig } from './switch.ts';
export { checkPortSecurity, type Binding, type PortSecurityReason } from './security.ts';
export { HeldFrames, type HoldLimits } from './held.ts';
