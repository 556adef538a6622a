// The public API over HTTP: tRPC's fetch adapter on GET (queries,
// subscriptions) and POST (mutations, batches), with the context built from
// the request's cookie or Authorization header and the connection's address
// as scripts/serve.mjs stamped it.
import { serveApi } from '../../../../server/serve/api.ts';
import { stampedConnection } from '../../../../server/trpc/peerStamp.ts';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

function handler(req: Request): Promise<Response> {
  return serveApi(req, { connection: stampedConnection(req.headers) });
}

export { handler as GET, handler as POST };
