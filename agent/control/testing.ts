// A tRPC router served on loopback as the console serves the control API
// (basePath /api/trpc/, the Authorization header as context), for the tests
// of the console link and the command channel (imported by *.test.ts only).
import type { AddressInfo } from 'node:net';
import type { AnyRouter } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';

export type FakeConsoleServer = ReturnType<typeof createHTTPServer>;

/** Listens on 127.0.0.1:`port` (0: any free port). */
export async function serveConsole(router: AnyRouter, port = 0): Promise<{ server: FakeConsoleServer; port: number }> {
  const server = createHTTPServer({ router, basePath: '/api/trpc/', createContext: ({ req }) => ({ auth: req.headers.authorization ?? null }) });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Closes the server and the connections open on it (streams included). */
export async function closeConsole(server: FakeConsoleServer | null): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
