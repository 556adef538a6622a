// The "outside" of an external network for NAT tests: a namespace that is a
// plain Linux machine (bridge br0 with the gateway's address, a
// `python3 -m http.server` and ping), cabled to hosts' external interfaces,
// and the probes the tests run through NAT (curl, a UDP send to a closed port).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetnsHarness } from './harness.ts';

/** What the outside server answers to GET /. */
export const OUTSIDE_PAGE = 'outside server\n';

export class Outside {
  private log = '';

  private constructor(
    private readonly h: NetnsHarness,
    readonly ns: string,
    readonly ip: string,
    readonly port: number,
  ) {}

  /** A namespace with bridge br0 at `ip/prefixLen`, serving OUTSIDE_PAGE over HTTP on `ip:port` from `dir`. */
  static async start(h: NetnsHarness, short: string, ip: string, prefixLen: number, dir: string, port = 8081): Promise<Outside> {
    const ns = await h.addNs(short);
    await h.mustExec(ns, 'ip', ['link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0']);
    await h.mustExec(ns, 'ip', ['addr', 'add', `${ip}/${prefixLen}`, 'dev', 'br0']);
    await h.mustExec(ns, 'ip', ['link', 'set', 'br0', 'up']);
    const www = join(dir, 'outside-www');
    await mkdir(www, { recursive: true });
    await writeFile(join(www, 'index.html'), OUTSIDE_PAGE);
    const o = new Outside(h, ns, ip, port);
    const srv = h.spawn(ns, 'python3', ['-m', 'http.server', String(port), '--bind', ip, '--directory', www]);
    srv.stderr?.on('data', (d: Buffer) => (o.log += d.toString()));
    return o;
  }

  get url(): string {
    return `http://${this.ip}:${this.port}/`;
  }

  /** Cables a host's interface `ifname` (no address) to br0 through port `port` of the bridge. */
  async cable(hostNs: string, ifname: string, port: string): Promise<void> {
    await this.h.veth({ ns: hostNs, ifname }, { ns: this.ns, ifname: port });
    await this.h.mustExec(this.ns, 'ip', ['link', 'set', port, 'master', 'br0', 'up']);
  }

  /** The client addresses in the server's access log since the last clearLog(). */
  async clients(): Promise<string[]> {
    await new Promise((r) => setTimeout(r, 200)); // the log line follows the response
    return [...new Set([...this.log.matchAll(/^(\S+) - - /gm)].map((m) => m[1]!))];
  }

  clearLog(): void {
    this.log = '';
  }
}

/** `curl -s -m 3 url` in `ns`: exit code and body. */
export function curl(h: NetnsHarness, ns: string, url: string) {
  return h.exec(ns, 'curl', ['-s', '-m', '3', '-o', '-', url], { timeoutMs: 10_000 });
}

/** Serves `guest <name>\n` over HTTP on 0.0.0.0:`port` in `ns` (files in `dir`). */
export async function serveGuestPage(h: NetnsHarness, ns: string, name: string, dir: string, port = 8000): Promise<void> {
  const site = join(dir, `site-${name}`);
  await mkdir(site, { recursive: true });
  await writeFile(join(site, 'index.html'), `guest ${name}\n`);
  h.spawn(ns, 'python3', ['-m', 'http.server', String(port), '--bind', '0.0.0.0', '--directory', site]);
}

/**
 * Sends UDP to `ip`:`port` from `ns` up to three times: "refused" when an ICMP
 * port unreachable came back to the socket, else "timeout".
 */
export async function udpToClosedPort(h: NetnsHarness, ns: string, ip: string, port = 9): Promise<string> {
  const script = [
    'import socket',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    's.settimeout(2)',
    `s.connect(("${ip}", ${port}))`,
    'r = "timeout"',
    'for _ in range(3):',
    '    s.send(b"x")',
    '    try:',
    '        s.recv(10)',
    '    except ConnectionRefusedError:',
    '        r = "refused"; break',
    '    except socket.timeout:',
    '        pass',
    'print(r)',
  ].join('\n');
  return (await h.exec(ns, 'python3', ['-c', script], { timeoutMs: 15_000 })).stdout.trim();
}
