// Runs inside a test namespace (the TAP it makes must not appear in the
// host's): a TAP guest without netns, i.e. the VM shape, with this process
// playing the hypervisor by attaching to the TAP the way qemu does
// (TUNSETIFF on the existing persistent device). Prints one JSON line.
import { createTapGuest } from '../../agent/guests/tap.ts';
import { readLink, linkExists } from '../../agent/guests/netns.ts';
import { loadTapAddon } from '../../agent/native/index.ts';
import { Counters } from '../../agent/metrics.ts';
import { silentLogger } from '../../agent/log.ts';
import type { VifSpec } from '../../agent/guests/types.ts';

const ifname = process.argv[2] ?? 'sdvm0';
const addon = loadTapAddon();
const counters = new Counters();
const vif = {
  id: 'vm-1/eth0', vnet: 100, mac: '02:5d:00:00:01:01', ip: '10.100.0.50/24', version: 1,
  guest: { kind: 'tap', ifname },
} as VifSpec;
const port = createTapGuest(vif, { logger: silentLogger, counters, mtu: 1400 });
const fromVm: Buffer[] = [];
port.onFrame = (f) => fromVm.push(f);
await port.start();
const hostSide = await readLink(ifname);

// The "VM" attaches; a second attach must fail as it would for a second VM.
const vm = addon.openTap(ifname, false, false);
let secondAttach = 'none';
try { addon.openTap(ifname, false, false); } catch (e) { secondAttach = (e as { code: string }).code; }
const toVm: Buffer[] = [];
const reader = addon.startReader(vm.fd, (frames) => toVm.push(...frames), () => {});

const bcast = Buffer.alloc(60);
bcast.fill(0xff, 0, 6);
Buffer.from('025d00000101', 'hex').copy(bcast, 6);
bcast.writeUInt16BE(0x88b5, 12); // IEEE local experimental ethertype
bcast.write('from-vm', 14);
addon.write(vm.fd, bcast);

// Tagged frames (802.1Q VID 42, 802.1ad VID 7 over 802.1Q VID 9) must reach
// the agent with their tags, as the VM sent them.
function tagged(tags: [number, number][], text: string): Buffer {
  const f = Buffer.alloc(64);
  bcast.copy(f, 0, 0, 12);
  let off = 12;
  for (const [tpid, vid] of tags) {
    f.writeUInt16BE(tpid, off);
    f.writeUInt16BE(vid, off + 2);
    off += 4;
  }
  f.writeUInt16BE(0x88b5, off);
  f.write(text, off + 2);
  return f;
}
const sentTagged = [tagged([[0x8100, 42]], 'tagged-q'), tagged([[0x88a8, 7], [0x8100, 9]], 'tagged-ad')];
for (const f of sentTagged) addon.write(vm.fd, f);

const unicast = Buffer.alloc(60);
Buffer.from('025d00000101', 'hex').copy(unicast, 0);
Buffer.from('025d000001ff', 'hex').copy(unicast, 6);
unicast.writeUInt16BE(0x88b5, 12);
unicast.write('to-vm', 14);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
await sleep(100);
port.deliver(unicast);
port.deliver(Buffer.alloc(4)); // a runt: the kernel refuses it, the port counts a drop
await sleep(200);

addon.stopReader(reader);
await port.stop();
console.log(JSON.stringify({
  hostSide,
  secondAttach,
  fromVm: fromVm.filter((f) => f.subarray(14, 21).toString() === 'from-vm').length,
  toVm: toVm.filter((f) => f.subarray(14, 19).toString() === 'to-vm').length,
  taggedIntact: sentTagged.map((sent) => fromVm.some((f) => f.equals(sent))),
  loopedBack: fromVm.filter((f) => f.subarray(14, 19).toString() === 'to-vm').length,
  drops: counters.get('softudc_tap_tx_drops_total'),
  existsAfterStop: await linkExists(ifname),
}));
