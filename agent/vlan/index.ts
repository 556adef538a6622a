export { VlanManager, type VlanManagerContext } from './manager.ts';
export { LAN_MAC_AGE_MS, MAX_LAN_MACS, VlanUplink, vlanDeviceNames, type VlanContext, type VlanSpec } from './uplink.ts';
