// Virtual firewalls (seed 002): multi-homed, stateful, ordered rules.
export { VirtualFirewall, type FirewallDeps, type FirewallView } from './firewall.ts';
export { Conntrack, CONNTRACK_DEFAULTS, type ConntrackTimeouts, type ConnState } from './conntrack.ts';
export { firewallSchema, type FirewallSpec, type FirewallSpecInput } from '../../contract/firewall.ts';
export { Nat, NAT_PORT_MIN, NAT_PORT_MAX, type NatLeg, type NatEntryView, type NatDropReason } from './nat.ts';
export { ExternalLegs, type LegSpec } from './legs.ts';
