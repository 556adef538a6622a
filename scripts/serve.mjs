#!/usr/bin/env node
// The console's web server: Next.js (the production build, or the dev server
// with --dev) in this process, behind a plain node:http server that accepts
// the connections itself. A Next.js route handler never sees the connection,
// so this server writes each one's address into the request it hands over
// (server/trpc/peerStamp.ts), under a key only this process knows; the API
// takes the client's address from there, never from a header a client could
// forge (X-Forwarded-For counts only from SOFTUDC_TRUSTED_PROXIES).
//   node scripts/serve.mjs [--dev] [--host H] [--port N]
// `npm start` (scripts/start.mjs) runs it after preparing the database.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { tsImport } from 'tsx/esm/api';

const { consoleConfig } = await tsImport('../config/index.ts', import.meta.url);
const { consoleLogger } = await tsImport('../log/index.ts', import.meta.url);
const config = consoleConfig();
const log = consoleLogger();

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const dev = args.includes('--dev');
const host = opt('--host', config.SOFTUDC_LISTEN);
const port = Number(opt('--port', String(config.PORT)));

// Same names as server/trpc/peerStamp.ts.
const PEER_HEADER = 'x-softudc-peer';
const PEER_KEY = Symbol.for('softudc.peerKey');
/** Stop waiting for open streams (agents, browsers) this long after a stop signal. */
const STOP_GRACE_MS = 3_000;

// Before Next.js loads: it picks React's production or development build by it.
process.env.NODE_ENV ??= dev ? 'development' : 'production';
const { default: next } = await import('next');

const key = randomBytes(24).toString('base64url');
globalThis[PEER_KEY] = key;

const app = next({ dev, hostname: host, port, dir: process.cwd() });
await app.prepare();
const handle = app.getRequestHandler();

const server = http.createServer((req, res) => {
  // Replaces any header of that name the client sent.
  req.headers[PEER_HEADER] = `${key} ${req.socket.remoteAddress ?? ''} ${req.socket.encrypted ? 'tls' : 'tcp'}`;
  handle(req, res).catch((err) => {
    log.error('request failed', { error: err });
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end();
  });
});
server.once('error', (err) => {
  console.error(`cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
});
server.listen(port, host, () => console.log(`serving on http://${host.includes(':') ? `[${host}]` : host}:${port}`));

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // Subscriptions stay open until their clients leave: end them after a grace period.
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, STOP_GRACE_MS).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
