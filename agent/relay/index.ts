export { Relay } from './relay.ts';
export { ProxyTable, type ProxyRouteView } from './proxy.ts';
export { RELAY_COUNTERS, type Endpoint, type RelayIo, type RelaySettings } from './types.ts';
