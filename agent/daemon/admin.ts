// The agent's admin endpoint (ARCHITECTURE.md "Contracts"): Prometheus
// metrics, the state view, and diagnostics from emulated guests. Loopback by
// default: it has no authentication, so it must not face a network.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from './agent.ts';
import type { Logger } from '../log.ts';
import { EmulatedGuest, ProbeError } from '../guests/index.ts';
import { WireError, parseMac } from '../wire/index.ts';
import { VARP_PAGE_DEFAULT, VARP_PAGE_MAX, type VarpPage } from './view.ts';
import { commandArgs } from '../../contract/commands.ts';

export interface AdminOptions {
  agent: Agent;
  logger: Logger;
  host?: string;
  /** 0 picks a free port (see address()). */
  port: number;
}

const BODY_MAX = 64 * 1024;
const PROBE_RE = /^\/v1\/vifs\/(.+)\/(ping|udp-stream)$/;
const INSPECT_RE = /^\/v1\/vifs\/(.+)\/inspect$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Parses `HOST:PORT` or `PORT` (loopback); throws naming the problem. */
export function parseAdminAddress(text: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65_535)) throw new Error(`--admin: expected HOST:PORT or PORT, got "${text}"`);
  let host = m[1] ?? '127.0.0.1';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}

export class AdminServer {
  private server: http.Server | undefined;

  constructor(private readonly opts: AdminOptions) {}

  async start(): Promise<{ host: string; port: number }> {
    const server = http.createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => this.fail(res, err));
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.opts.logger.error('admin server error', { error: err.message }));
    this.server = server;
    return this.address();
  }

  address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('admin server not listening');
    return { host: a.address, port: a.port };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const agent = this.opts.agent;
    if (path === '/metrics') {
      allow(req, 'GET');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(agent.metrics());
      return;
    }
    if (path === '/v1/state') {
      allow(req, 'GET');
      return json(res, 200, agent.snapshot(varpPage(url.searchParams)));
    }
    if (path === '/healthz') {
      allow(req, 'GET');
      return json(res, 200, { ok: true, appliedGeneration: agent.generation });
    }
    const inspect = INSPECT_RE.exec(path);
    if (inspect) {
      // vif.inspect (contract/commands.ts), as the console's command gets it: ?peer=&protocol=&port=&peerMac=
      allow(req, 'GET');
      const q = Object.fromEntries(url.searchParams);
      const a = commandArgs['vif.inspect'].safeParse({ ...q, vifId: pathId(inspect[1]!), ...(q.port !== undefined ? { port: /^\d{1,5}$/.test(q.port) ? Number(q.port) : q.port } : {}) });
      if (!a.success) {
        const issue = a.error.issues[0]!;
        throw new HttpError(400, 'BAD_REQUEST', `${issue.path.join('.')}: ${issue.message}`, String(issue.path[0] ?? ''));
      }
      const data = agent.inspectVif(a.data);
      if (!data) throw new HttpError(404, 'NOT_FOUND', `no VIF "${a.data.vifId}" on this host`, 'id');
      return json(res, 200, data);
    }
    const m = PROBE_RE.exec(path);
    if (m) {
      allow(req, 'POST');
      const id = pathId(m[1]!);
      const guest = agent.guest(id);
      if (!guest) throw new HttpError(404, 'NOT_FOUND', `no running VIF "${id}"`, 'id');
      if (!(guest instanceof EmulatedGuest)) throw new HttpError(400, 'NOT_EMULATED', `VIF "${id}" is not an emulated guest`, 'id');
      const body = await readJson(req);
      const target = body.target;
      if (typeof target !== 'string') throw new HttpError(400, 'BAD_REQUEST', 'target: must be an IPv4 address string', 'target');
      const opts = { ...body };
      delete opts.target;
      const result = m[2] === 'ping' ? await guest.ping(target, opts) : await guest.udpStream(target, opts);
      return json(res, 200, result);
    }
    throw new HttpError(404, 'NOT_FOUND', `no route ${path}`);
  }

  private fail(res: http.ServerResponse, err: unknown): void {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err instanceof ProbeError) e = new HttpError(400, 'BAD_REQUEST', err.message, err.field);
    else if (err instanceof WireError) e = new HttpError(400, 'BAD_REQUEST', `target: ${err.message}`, 'target');
    else {
      this.opts.logger.error('admin request failed', { error: (err as Error).message });
      e = new HttpError(500, 'INTERNAL', 'internal error');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    json(res, e.status, { error: { code: e.code, message: e.message, field: e.field ?? null } });
  }
}

/** `?limit=N&after=<vnet>/<mac>`: the page of the VARP cache /v1/state lists. */
function varpPage(q: URLSearchParams): VarpPage {
  const limitText = q.get('limit');
  const limit = limitText === null ? VARP_PAGE_DEFAULT : Number(limitText);
  if (!/^\d{1,6}$/.test(limitText ?? '1') || !(limit >= 1 && limit <= VARP_PAGE_MAX)) {
    throw new HttpError(400, 'BAD_REQUEST', `limit: must be an integer from 1 to ${VARP_PAGE_MAX}`, 'limit');
  }
  const afterText = q.get('after');
  if (afterText === null) return { limit };
  const m = /^(\d{1,10})\/([0-9a-fA-F:]{17})$/.exec(afterText);
  let mac = NaN;
  try {
    if (m) mac = parseMac(m[2]!);
  } catch {
    // reported below
  }
  const vnet = Number(m?.[1]);
  if (!m || !(vnet <= 0xffffffff) || Number.isNaN(mac)) {
    throw new HttpError(400, 'BAD_REQUEST', 'after: must be the varpNext cursor of a previous page, <vnet>/<mac>', 'after');
  }
  return { limit, after: { vnet, mac } };
}

function allow(req: http.IncomingMessage, method: string): void {
  if (req.method !== method) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${method}`);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > BODY_MAX) throw new HttpError(413, 'TOO_LARGE', `body over ${BODY_MAX} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'body: not valid JSON', 'body');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'BAD_REQUEST', 'body: must be a JSON object', 'body');
  return v as Record<string, unknown>;
}

/** A VIF id from the request path, percent-decoded; a malformed escape is the caller's error (400 naming `id`). */
function pathId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', `id: "${raw.slice(0, 80)}" is not a valid percent-encoded path segment`, 'id');
  }
}
