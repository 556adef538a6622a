// The world of the end-to-end feature matrix: one console (server/serve/http.ts)
// on a fresh database of a real Postgres server, five hosts in network
// namespaces on two LAN segments behind a router namespace (underlay
// 198.18.1.0/24 and 198.18.2.0/24), each running a managed `softudc-agent`
// enrolled with a one-time token, and a hypervisor that attaches the VMs the
// console places there to guest namespaces (test/netns/hypervisor.ts).
//
// Everything the rows configure goes through the API over HTTP with API
// tokens, as automation would: an admin token for hosts and segments, an
// operator token for farms. The agents reach the console through the router
// namespace: a forwarder there listens on each segment's gateway address and
// passes connections over a Unix socket to the console on this process's
// loopback (namespaces share no loopback, the file system they do share).
import { consoleConfig } from '../../config/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import pg from 'pg';
import { createTestDb, type TestDb } from '../db.ts';
import { waitFor } from '../managed-agent.ts';
import { NetnsHarness } from '../netns/harness.ts';
import { NsAgent } from '../netns/agents.ts';
import { addHost, addSegment } from '../overlay-fixture.ts';
import { Hypervisor } from '../netns/hypervisor-client.ts';
import { ensureAdmin } from '../../server/serve/bootstrap.ts';
import { startApiServer, type ApiServer } from '../../server/serve/http.ts';
import type { AppRouter } from '../../server/routers/_app.ts';

export type Api = TRPCClient<AppRouter>;

/** The Postgres server the matrix creates its database on. */
export const MATRIX_POSTGRES = consoleConfig().DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const ADMIN_PASSWORD = 'feature-matrix-admin-password';
/** The forwarder's port on the segments' gateway addresses (inside the router namespace only). */
const CONSOLE_PORT = 3000;

export const SEGMENTS = { s1: '198.18.1', s2: '198.18.2' } as const;
export type SegmentName = keyof typeof SEGMENTS;
export const HOSTS = [
  { name: 'h1', segment: 's1', address: '198.18.1.1' },
  { name: 'h2', segment: 's1', address: '198.18.1.2' },
  { name: 'h3', segment: 's1', address: '198.18.1.3' },
  { name: 'h4', segment: 's2', address: '198.18.2.1' },
  { name: 'h5', segment: 's2', address: '198.18.2.2' },
] as const;
export type HostName = (typeof HOSTS)[number]['name'];

/** True when a Postgres server answers at `url` within a few seconds. */
export async function postgresReachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** A managed agent in a host namespace: `softudc-agent --console URL --token TOKEN`. */
export class ConsoleAgent extends NsAgent {
  start(consoleUrl: string, token: string, stateDir: string): void {
    this.launch(['--console', consoleUrl, '--token', token, '--state-dir', stateDir, '--report-interval', '1']);
  }
}

export interface MatrixHost {
  name: HostName;
  id: string;
  address: string;
  segment: SegmentName;
  ns: string;
  agent: ConsoleAgent;
  hv: Hypervisor;
}

function client(url: string, token: string): Api {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url, transformer: superjson, headers: () => ({ authorization: `Bearer ${token}` }) })] });
}

/** Signs in as the first admin over HTTP and makes an API token of `role`. */
async function apiToken(url: string, role: 'admin' | 'operator'): Promise<string> {
  const post = (path: string, body: unknown, cookie?: string) =>
    fetch(`${url}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ json: body }),
    });
  const login = await post('auth.login', { username: 'admin', password: ADMIN_PASSWORD });
  if (!login.ok) throw new Error(`auth.login: HTTP ${login.status} ${await login.text()}`);
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const made = await post('apiToken.create', { name: `feature-matrix-${role}`, role, expiresInDays: 1 }, cookie);
  if (!made.ok) throw new Error(`apiToken.create: HTTP ${made.status} ${await made.text()}`);
  return ((await made.json()) as { result: { data: { json: { token: string } } } }).result.data.json.token;
}

export class MatrixWorld {
  readonly h = new NetnsHarness();
  t!: TestDb;
  /** Operator token: farms and everything in them. */
  api!: Api;
  /** Admin token: hosts and LAN segments. */
  admin!: Api;
  router!: string;
  segments = {} as Record<SegmentName, string>;
  hosts = {} as Record<HostName, MatrixHost>;
  private server: ApiServer | undefined;
  private bridge: net.Server | undefined;
  private dir = '';

  static async start(): Promise<MatrixWorld> {
    const w = new MatrixWorld();
    try {
      await w.setUp();
    } catch (err) {
      await w.close();
      throw err;
    }
    return w;
  }

  private async setUp(): Promise<void> {
    const { h } = this;
    this.dir = await mkdtemp(join(tmpdir(), 'softudc-matrix-'));
    this.t = await createTestDb({ serverUrl: MATRIX_POSTGRES });
    await ensureAdmin(this.t.prisma, { password: ADMIN_PASSWORD, log: () => {} });
    this.server = await startApiServer({ db: { prisma: this.t.prisma, raw: this.t.raw } });
    const url = this.server.url;
    [this.admin, this.api] = await Promise.all([apiToken(url, 'admin'), apiToken(url, 'operator')]).then((tokens) => tokens.map((t) => client(url, t)));

    // The network: a router namespace with one bridge per segment, forwarding unicast between them.
    this.router = await h.addNs('mrt');
    await h.mustExec(this.router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const [name, net24] of Object.entries(SEGMENTS)) await addSegment(h, this.router, `br${name}`, net24);
    const sock = join(this.dir, 'console.sock');
    await this.bridgeConsole(sock);

    for (const [name] of Object.entries(SEGMENTS)) {
      const seg = await this.admin.segment.create.mutate({ name, multicast: true });
      this.segments[name as SegmentName] = seg.id;
    }
    await Promise.all(
      HOSTS.map(async (spec) => {
        const ns = await addHost(h, this.router, `br${spec.segment}`, `m${spec.name}`, spec.address);
        const made = await this.admin.host.create.mutate({ name: spec.name, address: spec.address, segmentId: this.segments[spec.segment] });
        const agent = new ConsoleAgent(h, ns);
        agent.start(`http://${SEGMENTS[spec.segment]}.254:${CONSOLE_PORT}`, made.enrollmentToken, join(this.dir, spec.name));
        const hv = new Hypervisor(h, ns);
        await hv.start();
        this.hosts[spec.name] = { name: spec.name, id: made.host.id, address: spec.address, segment: spec.segment, ns, agent, hv };
      }),
    );
    await waitFor(async () => {
      for (const host of Object.values(this.hosts)) host.agent.checkAlive();
      const list = await this.admin.host.list.query({ limit: 50 });
      return list.items.length === HOSTS.length && list.items.every((x) => x.status === 'online' && x.capabilities.includes('guest:tap'));
    }, 'every agent enrolled, online and able to run TAP guests', 60_000, 250);
  }

  /**
   * Agents reach the console at http://<segment>.254:3000: a forwarder in the
   * router namespace hands each connection to a Unix socket, and this process
   * pipes it to the console's loopback port.
   */
  private async bridgeConsole(sock: string): Promise<void> {
    const port = this.server!.port;
    this.bridge = net.createServer((c) => {
      const up = net.connect(port, '127.0.0.1');
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((ok, fail) => this.bridge!.once('error', fail).listen(sock, ok));
    const script = `
      const net = require('node:net');
      const [sock, port] = process.argv.slice(1);
      net.createServer((c) => {
        const up = net.connect(sock);
        c.pipe(up).pipe(c);
        c.on('error', () => up.destroy());
        up.on('error', () => c.destroy());
      }).listen(Number(port), '0.0.0.0', () => console.log('ready'));`;
    const fwd = this.h.spawn(this.router, process.execPath, ['-e', script, sock, String(CONSOLE_PORT)], { netOnly: true });
    await new Promise<void>((ok, fail) => {
      fwd.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && ok());
      fwd.once('exit', (code) => fail(new Error(`console forwarder exited ${code}`)));
    });
  }

  /** Waits until every host applied its desired generation (after a change that is not a farm deploy). */
  async settled(what: string): Promise<void> {
    await waitFor(async () => {
      const list = await this.admin.host.list.query({ limit: 50 });
      return list.items.every((x) => x.appliedGeneration >= x.desiredGeneration);
    }, `every host to apply ${what}`, 30_000, 200);
  }

  /** A path in this run's temporary directory (captures, state directories). */
  file(name: string): string {
    return join(this.dir, name);
  }

  /** Last lines of every agent's log, for a failure message. */
  agentLogs(lines = 15): string {
    return Object.values(this.hosts)
      .map((x) => `--- ${x.name}\n${x.agent.logs.slice(-lines).join('\n')}`)
      .join('\n');
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.hosts).map(async (x) => Promise.all([x.hv.stop(), x.agent.stop()])));
    await this.server?.close();
    this.bridge?.close();
    await this.h.cleanup();
    await this.t?.drop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
