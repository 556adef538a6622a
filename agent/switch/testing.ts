// Fakes and frame builders for switch and agent tests (imported by *.test.ts only).
import { Counters } from '../metrics.ts';
import type { GuestPort } from '../guests/types.ts';
import type { Resolution, Route } from '../varp/index.ts';
import {
  ARP_OP_REQUEST,
  BROADCAST_MAC,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  IPPROTO_UDP,
  encodeArp,
  encodeEthernet,
  encodeIpv4,
  encodeUdp,
} from '../wire/index.ts';
import { Switch, type SwitchIo, type SwitchPort } from './switch.ts';

export class FakeGuest implements GuestPort {
  readonly received: Buffer[] = [];
  onFrame: (frame: Buffer) => void = () => {};
  constructor(readonly id: string) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  deliver(frame: Buffer): void {
    this.received.push(frame);
  }
}

export interface Sent {
  datagram: Buffer;
  coa: number;
  port: number;
}

export class FakeVarp {
  readonly routes = new Map<string, Route>();
  readonly ips = new Map<string, number>();
  readonly resolveCalls: { vnet: number; mac: number }[] = [];
  readonly resolveIpCalls: { vnet: number; ip: number }[] = [];
  readonly refreshCalls: { vnet: number; mac: number; coa: number }[] = [];
  /** Destinations being resolved: their frames are held. */
  readonly pending = new Set<string>();
  resolve(vnet: number, mac: number): Resolution {
    this.resolveCalls.push({ vnet, mac });
    return this.routes.get(`${vnet}/${mac}`) ?? (this.pending.has(`${vnet}/${mac}`) ? 'pending' : null);
  }
  lookupIp(vnet: number, ip: number): { mac: number } | undefined {
    const mac = this.ips.get(`${vnet}/${ip}`);
    return mac === undefined ? undefined : { mac };
  }
  resolveIp(vnet: number, ip: number): void {
    this.resolveIpCalls.push({ vnet, ip });
  }
  refresh(vnet: number, mac: number, coa: number): void {
    this.refreshCalls.push({ vnet, mac, coa });
  }
}

export function fakeSwitch() {
  const counters = new Counters();
  const varp = new FakeVarp();
  const sent: Sent[] = [];
  const flooded: { datagram: Buffer; peers: readonly string[] | undefined }[] = [];
  const io: SwitchIo = {
    varp,
    sendTo: (datagram, coa, port) => sent.push({ datagram, coa, port }),
    flood: (datagram, peers) => flooded.push({ datagram, peers }),
  };
  const sw = new Switch(io, counters);
  const addPort = (id: string, vnet: number, mac: number, ip: number): SwitchPort & { guest: FakeGuest } => {
    const port = { id, vnet, mac, ip, guest: new FakeGuest(id) };
    sw.addPort(port);
    return port;
  };
  return { sw, counters, varp, sent, flooded, addPort };
}

export function udpFrame(srcMac: number, dstMac: number, srcIp: number, dstIp: number, payload = Buffer.from('hello')): Buffer {
  const udp = encodeUdp({ srcPort: 40000, dstPort: 9, payload }, { src: srcIp, dst: dstIp });
  return encodeEthernet({ dst: dstMac, src: srcMac, ethertype: ETHERTYPE_IPV4, payload: encodeIpv4({ protocol: IPPROTO_UDP, src: srcIp, dst: dstIp, payload: udp }) });
}

export function arpRequest(srcMac: number, srcIp: number, targetIp: number, sha = srcMac): Buffer {
  const payload = encodeArp({ op: ARP_OP_REQUEST, sha, spa: srcIp, tha: 0, tpa: targetIp });
  return encodeEthernet({ dst: BROADCAST_MAC, src: srcMac, ethertype: ETHERTYPE_ARP, payload });
}
