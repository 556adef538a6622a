// A VLAN-aware LAN switch in userspace, for the VLAN namespace test on
// kernels without 802.1Q support: a TAP `trunk` (bridged by the test to the
// link that carries the tags) and one TAP per VLAN id, untagged, for the
// machines on that VLAN. Run inside the LAN namespace:
//   node --import tsx test/vlan-lan.ts TRUNK VID=IFNAME [VID=IFNAME...]
// Prints "ready" once the TAPs exist; runs until killed.
import { loadTapAddon } from '../agent/native/index.ts';
import { addVlanTag, stripVlanTag, vlanIdOf } from '../agent/vlan/tag.ts';

const [trunkName, ...ports] = process.argv.slice(2);
if (!trunkName || ports.length === 0) throw new Error('usage: vlan-lan.ts TRUNK VID=IFNAME...');
const addon = loadTapAddon();
const trunk = addon.openTap(trunkName, false, false);
const byVid = new Map<number, number>();
for (const p of ports) {
  const [vid, name] = p.split('=');
  const t = addon.openTap(name!, false, false);
  byVid.set(Number(vid), t.fd);
  addon.startReader(t.fd, (frames) => { for (const f of frames) addon.write(trunk.fd, addVlanTag(f, Number(vid))); }, () => process.exit(1));
}
addon.startReader(trunk.fd, (frames) => {
  for (const f of frames) {
    const fd = byVid.get(vlanIdOf(f));
    if (fd !== undefined) addon.write(fd, stripVlanTag(f));
  }
}, () => process.exit(1));
console.log('ready');
setInterval(() => {}, 1 << 30);
