// Runs inside a guest namespace for test/dhcp-dns.netns.test.ts: on each
// stdin line `<count> <seed>` it sends `count` random or mutated DHCP and DNS
// packets to the vnet's resolver address (DHCP to port 67 from port 68, DNS
// to port 53) and prints `sent <dhcp> <dns>`. Deterministic per seed.
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { BOOTREQUEST, DhcpType, encodeDhcp } from '../agent/dhcp/codec.ts';
import { CLASS_IN, encodeDns, QType } from '../agent/dns/codec.ts';

const [target = '10.100.0.254', macHex = '025d00006401'] = process.argv.slice(2);
const mac = parseInt(macHex, 16);

const discover = encodeDhcp({
  op: BOOTREQUEST, htype: 1, hlen: 6, hops: 0, xid: 1, secs: 0, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: mac,
  options: { messageType: DhcpType.DISCOVER, params: [1, 3, 6, 12, 15, 26, 121] },
});
const query = encodeDns({
  id: 7, response: false, opcode: 0, authoritative: false, truncated: false, recursionDesired: true, recursionAvailable: false, rcode: 0,
  questions: [{ name: 'web-2.shop.example.internal', type: QType.A, class: CLASS_IN }], answers: [], authorityCount: 0, additionalCount: 0,
});

let state = 1;
const rnd = (n: number) => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return (state >>> 8) % n;
};

function packet(base: Buffer, i: number): Buffer {
  if (i % 3 === 0) return Buffer.from(Array.from({ length: rnd(base.length + 64) }, () => rnd(256)));
  const b = Buffer.from(base.subarray(0, i % 3 === 1 ? base.length : rnd(base.length + 1)));
  for (let k = rnd(8); k >= 0 && b.length > 0; k--) b[rnd(b.length)] = rnd(256);
  return b;
}

const dhcp = dgram.createSocket('udp4');
const dns = dgram.createSocket('udp4');
dhcp.on('message', () => {});
dns.on('message', () => {});
dhcp.bind(68, () => {
  dns.bind(0, () => {
    console.log('ready');
    createInterface({ input: process.stdin }).on('line', async (line) => {
      const [count, seed] = line.split(' ').map(Number);
      state = seed! || 1;
      let d = 0;
      let n = 0;
      for (let i = 0; i < count!; i++) {
        const toDhcp = rnd(2) === 0;
        const p = packet(toDhcp ? discover : query, i);
        await new Promise<void>((resolve) => (toDhcp ? dhcp : dns).send(p, toDhcp ? 67 : 53, target, () => resolve()));
        if (toDhcp) d++;
        else n++;
      }
      console.log(`sent ${d} ${n}`);
    });
  });
});
