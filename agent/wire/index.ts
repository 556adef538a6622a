// The wire codecs of docs/wire.md plus the guest-side protocols the agent speaks.
export * from './errors.ts';
export * from './constants.ts';
export * from './addr.ts';
export * from './checksum.ts';
export * from './ethernet.ts';
export * from './arp.ts';
export {
  decodeIpv4,
  encodeIpv4,
  decrementTtl,
  type Ipv4Packet,
  type Ipv4Input,
} from './ipv4.ts';
export * from './icmp.ts';
export * from './udp.ts';
export * from './frame.ts';
export * from './varp.ts';
export * from './relay.ts';
export * from './header.ts';
