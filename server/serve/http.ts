// The tRPC API on a plain node:http server, without Next.js: the same router
// and context as app/api/trpc, at /api/trpc. Integration tests and benchmarks
// run a real console with it (and several of them on one Postgres to show
// LISTEN/NOTIFY fan-out) without building the web app.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Db, RawDb } from '../db/index.ts';
import { attachEventBus, detachEventBus } from '../events/index.ts';
import { ensureLivenessSweep, stopLivenessSweep } from '../control/hostLiveness.ts';
import { ensureKeyRotation, stopKeyRotation } from '../control/keyRotation.ts';
import { API_PATH, API_SECURITY_HEADERS, hotHeaders, serveTrpc } from './api.ts';
import { serveHotRead } from './hotReads.ts';
import { leanReportCredential, serveLeanReport } from './leanReport.ts';
import { leanDesiredCall, openLeanDesired, type LeanDesiredStream } from './leanDesired.ts';

export { API_PATH };

export interface StartApiServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** A database this server uses instead of the process-wide one (tests, benchmarks). */
  db?: { prisma: Db; raw: RawDb };
  /** Whether agents' desired-state streams take the lean path (leanDesired.ts) [true]; false sends them through tRPC. */
  leanDesired?: boolean;
}

export interface ApiServer {
  /** Base URL of the API, e.g. http://127.0.0.1:40123/api/trpc */
  url: string;
  port: number;
  /** Ends open streams and stops listening. */
  close(): Promise<void>;
}

function headerOf(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The request as the fetch API sees it; `body` when it has been read already (the lean report path's fallback). */
function toRequest(req: http.IncomingMessage, base: string, signal: AbortSignal, body?: Buffer): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else headers.set(k, v);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(new URL(req.url ?? '/', base), {
    method,
    headers,
    signal,
    ...(hasBody ? { body: body ? new Uint8Array(body) : (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>), duplex: 'half' } : {}),
  } as RequestInit);
}

async function writeResponse(res: http.ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key === 'set-cookie') return;
    headers[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // The chunks of one event-loop turn (an SSE event's parts, a ping beside a
  // state) leave in one system call: corked at the first, uncorked after the
  // turn. With a thousand agent streams, a write per chunk made writev the
  // console's largest cost.
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!corked) {
        corked = true;
        res.cork();
        setImmediate(uncork);
      }
      // SSE chunks go out as they come; wait for the socket to drain when it is full. A response whose
      // client left is written no more: its 'close' came already, and no 'drain' will.
      if (res.destroyed) break;
      if (!res.write(value) && !res.destroyed) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            resolve();
          };
          res.on('drain', done).on('close', done);
        });
      }
      if (res.destroyed) break;
    }
  } finally {
    reader.cancel().catch(() => undefined);
    res.end();
  }
}

/** A request's whole body (its declared length was checked: leanReportCredential). */
async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startApiServer(opts: StartApiServerOptions = {}): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1';
  const db = opts.db;
  if (db) {
    await attachEventBus(db.prisma, db.raw);
    ensureLivenessSweep(db.prisma);
    ensureKeyRotation(db.prisma);
  }
  const open = new Set<AbortController>();
  let base = '';

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(`${API_PATH}/`) && url !== API_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    void (async () => {
      // The hot reads and agents' reports straight from node:http, before any Request is built.
      const hotReq = { method: req.method ?? 'GET', url, header: (n: string) => headerOf(req, n) };
      const credential = leanReportCredential(hotReq, API_PATH);
      if (credential) {
        const body = await readBody(req).catch(() => null);
        if (body === null) return void res.destroy();
        const hot = await serveLeanReport(credential, body, db);
        if (hot) res.writeHead(hot.status, hotHeaders(hot)).end(hot.body ?? undefined);
        else serveOther(req, res, body);
        return;
      }
      const call = opts.leanDesired === false ? null : leanDesiredCall(hotReq, API_PATH);
      const stream = call ? await openLeanDesired(call, db) : null;
      if (stream) return serveStream(res, stream);
      const hot = call ? null : await serveHotRead(hotReq, API_PATH, db);
      if (hot) res.writeHead(hot.status, hotHeaders(hot)).end(hot.body ?? undefined);
      else serveOther(req, res);
    })();
  });
  // An agent's desired-state stream on the lean path: each event one write; a full socket holds the next state back.
  const serveStream = (res: http.ServerResponse, stream: LeanDesiredStream) => {
    const abort = new AbortController();
    open.add(abort);
    res.once('close', () => abort.abort());
    // The client may have left while the stream was opened: its 'close' will not come again.
    if (res.destroyed) abort.abort();
    res.writeHead(200, { ...stream.headers, ...API_SECURITY_HEADERS });
    const sink = {
      write: (event: string) => {
        if (res.destroyed || res.write(event)) return;
        return new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            resolve();
          };
          res.on('drain', done).on('close', done);
        });
      },
      end: () => {
        open.delete(abort);
        res.end();
      },
    };
    void stream.run(sink, abort.signal);
  };
  const serveOther = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer) => {
    const abort = new AbortController();
    open.add(abort);
    // The client went away (or the server is closing): end the procedure, e.g. a subscription.
    res.once('close', () => abort.abort());
    // It may have gone already, while the lean paths above were awaited: its 'close' will not come again.
    if (res.destroyed) abort.abort();
    void (async () => {
      try {
        // The connection is known here; the client's X-Forwarded-For counts only from a trusted proxy.
        const connection = { address: req.socket.remoteAddress, encrypted: false };
        const response = await serveTrpc(toRequest(req, base, abort.signal, body), { connection, db: db?.prisma });
        await writeResponse(res, response);
      } catch {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end();
      } finally {
        open.delete(abort);
      }
    })();
  };
  // Subscriptions are long-lived: no request timeout, and keep-alive pings handle dead peers.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  base = `http://${hostPart}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `${base}${API_PATH}`,
    port,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        for (const a of open) a.abort();
        server.closeAllConnections();
        await stopped;
        if (db) {
          stopLivenessSweep(db.prisma);
          stopKeyRotation(db.prisma);
          await detachEventBus(db.prisma);
        }
      })()),
  };
}
