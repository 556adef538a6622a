// A tiny real DNS server for the matrix's DHCP/DNS row: a node dgram socket
// in a namespace on port 53, standing for a host's upstream resolver. It
// answers A for the names it is given (AAAA and others: no data), NXDOMAIN
// for every other name, and prints each question it got, so the row sees
// what the agent forwarded.
import type { NetnsHarness } from '../netns/harness.ts';

const SERVER = `
const dgram = require('node:dgram');
const [address, zoneJson] = process.argv.slice(1);
const zone = JSON.parse(zoneJson);
const s = dgram.createSocket('udp4');
s.on('message', (q, from) => {
  if (q.length < 12) return;
  let at = 12;
  const labels = [];
  while (at < q.length && q[at] !== 0) { labels.push(q.subarray(at + 1, at + 1 + q[at]).toString()); at += q[at] + 1; }
  const qEnd = at + 5;
  if (qEnd > q.length) return;
  const name = labels.join('.').toLowerCase();
  const type = q.readUInt16BE(at + 1);
  console.log(JSON.stringify({ name, type }));
  const ip = zone[name];
  const header = Buffer.alloc(12);
  q.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | (ip === undefined ? 3 : 0), 2); // response, RD, RA; NXDOMAIN when unknown
  header.writeUInt16BE(1, 4);
  const answer = ip !== undefined && type === 1
    ? Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), Buffer.from(ip.split('.').map(Number))])
    : Buffer.alloc(0);
  header.writeUInt16BE(answer.length ? 1 : 0, 6);
  s.send(Buffer.concat([header, q.subarray(12, qEnd), answer]), from.port, from.address);
});
s.bind(53, address, () => console.log('ready'));`;

export interface Upstream {
  /** The questions it received, in order. */
  queries: { name: string; type: number }[];
  stop(): Promise<void>;
}

/** Starts the server in `ns` on `address`:53, answering `zone` (name → IPv4). */
export async function startUpstream(h: NetnsHarness, ns: string, address: string, zone: Record<string, string>): Promise<Upstream> {
  const child = h.spawn(ns, process.execPath, ['-e', SERVER, address, JSON.stringify(zone)], { netOnly: true });
  const queries: Upstream['queries'] = [];
  let buf = '';
  await new Promise<void>((ok, fail) => {
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === 'ready') ok();
        else if (line.startsWith('{')) queries.push(JSON.parse(line) as Upstream['queries'][number]);
      }
    });
    child.once('exit', (code) => fail(new Error(`upstream DNS server exited ${code}`)));
  });
  return { queries, stop: () => h.kill(child) };
}
