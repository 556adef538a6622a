// Runs inside a test namespace: a TAP guest in the VM shape, and this process
// playing a hypervisor attached with the virtio-net header (as QEMU with
// vnet_hdr=on). It sends what a VM with offloads sends: TCPv4 and TCPv6 GSO
// frames and a frame with a partial checksum, and a burst of frames with two
// the host refuses among them; then reads a burst the agent delivers. Prints one JSON line: what the agent's port got (segments,
// sequence numbers, whether every checksum is complete and right) and what
// the VM got of the burst.
import { writeSync } from 'node:fs';
import { createTapGuest } from '../../agent/guests/tap.ts';
import { loadTapAddon } from '../../agent/native/index.ts';
import { Counters } from '../../agent/metrics.ts';
import { silentLogger } from '../../agent/log.ts';
import type { VifSpec } from '../../agent/guests/types.ts';

const ifname = process.argv[2] ?? 'sdvm0';
const addon = loadTapAddon();
const counters = new Counters();
const vif = { id: 'vm-1/eth0', vnet: 100, mac: '02:5d:00:00:01:01', ip: '10.100.0.50/24', version: 1, guest: { kind: 'tap', ifname } } as VifSpec;
const port = createTapGuest(vif, { logger: silentLogger, counters, mtu: 1400 });
const got: Buffer[] = [];
port.onFrame = (f) => got.push(Buffer.from(f));
await port.start();
const vm = addon.openTap(ifname, true, false);

/** RFC 1071 sum of 16-bit words. */
function sum(b: Buffer, acc = 0): number {
  for (let i = 0; i + 1 < b.length; i += 2) acc += b.readUInt16BE(i);
  if (b.length % 2) acc += b[b.length - 1]! << 8;
  return acc;
}
const fold = (s: number) => {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
};

/** Where the TCP header starts, the pseudo-header sum for `l4len` bytes. */
function l4(f: Buffer): { off: number; pseudo: (l4len: number) => number } {
  if (f.readUInt16BE(12) === 0x0800) return { off: 14 + (f[14]! & 15) * 4, pseudo: (n) => sum(f.subarray(26, 34)) + 6 + n };
  return { off: 54, pseudo: (n) => sum(f.subarray(22, 54)) + 6 + n };
}

function tcpFrame(v6: boolean, payload: number, seq: number): Buffer {
  const ipLen = v6 ? 40 : 20;
  const f = Buffer.alloc(14 + ipLen + 20 + payload, 0x61);
  Buffer.from('025d000001ff025d00000101', 'hex').copy(f, 0);
  f.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  const ip = f.subarray(14, 14 + ipLen);
  if (v6) {
    ip.fill(0);
    ip[0] = 0x60;
    ip.writeUInt16BE(20 + payload, 4);
    ip[6] = 6;
    ip[7] = 64;
    Buffer.from('fe80000000000000005d00fffe000101', 'hex').copy(ip, 8);
    Buffer.from('fe80000000000000005d00fffe0001ff', 'hex').copy(ip, 24);
  } else {
    ip.fill(0);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 20 + payload, 2);
    ip.writeUInt16BE(0x1234, 4);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = 64;
    ip[9] = 6;
    Buffer.from([10, 100, 0, 50, 10, 100, 0, 99]).copy(ip, 12);
    ip.writeUInt16BE(~fold(sum(ip)) & 0xffff, 10);
  }
  const tcp = f.subarray(14 + ipLen, 14 + ipLen + 20);
  tcp.fill(0);
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(5201, 2);
  tcp.writeUInt32BE(seq, 4);
  tcp.writeUInt32BE(1, 8);
  tcp[12] = 5 << 4;
  tcp[13] = 0x18; // ACK, PSH
  tcp.writeUInt16BE(1000, 14);
  // A partial checksum, as a kernel with checksum offload leaves it: the pseudo-header sum.
  tcp.writeUInt16BE(fold(l4(f).pseudo(20 + payload)), 16);
  return f;
}

/** The virtio-net header (little-endian): NEEDS_CSUM, and GSO when `mss`. */
function vnetHdr(f: Buffer, v6: boolean, mss: number): Buffer {
  const h = Buffer.alloc(10);
  const { off } = l4(f);
  h[0] = 1;
  h[1] = mss ? (v6 ? 4 : 1) : 0;
  h.writeUInt16LE(mss ? off + 20 : 0, 2);
  h.writeUInt16LE(mss, 4);
  h.writeUInt16LE(off, 6);
  h.writeUInt16LE(16, 8);
  return h;
}

function checksumsOk(f: Buffer): boolean {
  const { off, pseudo } = l4(f);
  if (f.readUInt16BE(12) === 0x0800 && fold(sum(f.subarray(14, off))) !== 0xffff) return false;
  return fold(sum(f.subarray(off), pseudo(f.length - off))) === 0xffff;
}

const sent = [
  { name: 'tso4', frame: tcpFrame(false, 3000, 1000), v6: false, mss: 1000 },
  { name: 'tso6', frame: tcpFrame(true, 2500, 5000), v6: true, mss: 1000 },
  { name: 'csum', frame: tcpFrame(false, 500, 9000), v6: false, mss: 0 },
];
for (const s of sent) writeSync(vm.fd, Buffer.concat([vnetHdr(s.frame, s.v6, s.mss), s.frame]));
await new Promise((r) => setTimeout(r, 300));

const seqOf = (f: Buffer) => f.readUInt32BE(l4(f).off + 4);
const malformedBefore = counters.get('softudc_tap_rx_malformed_total');

// A burst from the VM, written before the agent's reader wakes (it reads
// with recvmmsg): 150 frames of mixed sizes, every tenth VLAN-tagged, and two
// UDP GSO (UFO) frames the packet socket refuses, one first and one in the
// middle of a read. Every other frame must arrive, in order and intact.
const mark = (k: number, tag: boolean) => {
  const body = Buffer.alloc(60 + ((k * 97) % 1300), k & 0xff);
  Buffer.from('025d000001ff025d00000101', 'hex').copy(body, 0);
  body.writeUInt16BE(0x88b6, 12);
  body.writeUInt16BE(k, 14);
  if (!tag) return body;
  return Buffer.concat([body.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 42]), body.subarray(12)]);
};
const ufo = () => {
  const f = Buffer.alloc(14 + 20 + 8 + 3000, 0x75);
  Buffer.from('025d000001ff025d00000101', 'hex').copy(f, 0);
  f.writeUInt16BE(0x0800, 12);
  f.fill(0, 14, 42);
  f[14] = 0x45;
  f.writeUInt16BE(20 + 8 + 3000, 16);
  f[22] = 64;
  f[23] = 17;
  Buffer.from([10, 100, 0, 50, 10, 100, 0, 99]).copy(f, 26);
  f.writeUInt16BE(~fold(sum(f.subarray(14, 34))) & 0xffff, 24);
  f.writeUInt16BE(4000, 34);
  f.writeUInt16BE(4001, 36);
  f.writeUInt16BE(8 + 3000, 38);
  const h = Buffer.alloc(10);
  h[0] = 1; // NEEDS_CSUM
  h[1] = 3; // VIRTIO_NET_HDR_GSO_UDP
  h.writeUInt16LE(42, 2);
  h.writeUInt16LE(1000, 4);
  h.writeUInt16LE(34, 6);
  h.writeUInt16LE(6, 8);
  return Buffer.concat([h, f]);
};
const burstFromVm = Array.from({ length: 150 }, (_, k) => mark(k, k % 10 === 3));
const gotBefore = got.length;
writeSync(vm.fd, ufo());
for (const [k, f] of burstFromVm.entries()) {
  if (k === 70) writeSync(vm.fd, ufo());
  writeSync(vm.fd, Buffer.concat([Buffer.alloc(10), f]));
}
await new Promise((r) => setTimeout(r, 300));
const fromVmBurst = got.slice(gotBefore).filter((f) => f.readUInt16BE(12) === 0x88b6 || (f.readUInt16BE(12) === 0x8100 && f.readUInt16BE(16) === 0x88b6));
const burstIn = {
  received: fromVmBurst.length,
  inOrderAndIntact: fromVmBurst.length === burstFromVm.length && fromVmBurst.every((f, k) => f.equals(burstFromVm[k]!)),
  refused: counters.get('softudc_tap_rx_malformed_total') - malformedBefore,
};

const result = Object.fromEntries(
  sent.map((s) => {
    const mine = got.filter((f) => f.length > 14 && f.readUInt16BE(12) === s.frame.readUInt16BE(12) && seqOf(f) >= seqOf(s.frame) && seqOf(f) < seqOf(s.frame) + 4000);
    return [s.name, { seqs: mine.map(seqOf), lengths: mine.map((f) => f.length), checksumsOk: mine.every(checksumsOk) }];
  }),
);
// The other way: a burst the agent hands the VM in one turn (batches of 64,
// sendmmsg on its packet socket): 80 TCP segments of one flow, coalesced
// into GSO messages, with 20 other frames in between; the VM reads them back
// cut into segments.
const toVm: Buffer[] = [];
const vmReader = addon.startReader(vm.fd, (frames) => toVm.push(...frames.map((f) => Buffer.from(f))), () => {}, 64, true);
const segment = (k: number) => {
  const f = tcpFrame(false, 1000, 100000 + k * 1000);
  f[14 + 20 + 13] = 0x10; // ACK only: PSH would end a run
  return f;
};
const other = (k: number) => {
  const f = Buffer.alloc(60, k);
  Buffer.from('025d000001ff025d00000101', 'hex').copy(f, 0);
  f.writeUInt16BE(0x88b5, 12);
  return f;
};
const burst = [...Array.from({ length: 40 }, (_, k) => segment(k)), ...Array.from({ length: 20 }, (_, k) => other(k)), ...Array.from({ length: 40 }, (_, k) => segment(40 + k))];
for (const f of burst) port.deliver(f);
await new Promise((r) => setTimeout(r, 300));
const tcpBack = toVm.filter((f) => f.readUInt16BE(12) === 0x0800);
const batch = {
  tcpSeqs: tcpBack.map(seqOf),
  others: toVm.filter((f) => f.readUInt16BE(12) === 0x88b5).length,
  sent: counters.get('softudc_tap_tx_frames_total'),
  drops: counters.get('softudc_tap_tx_drops_total'),
};
addon.stopReader(vmReader);
await port.stop();
console.log(JSON.stringify({ ...result, batch, burstIn, malformed: malformedBefore }));
