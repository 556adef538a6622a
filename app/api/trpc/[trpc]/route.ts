// The public API over HTTP: tRPC's fetch adapter on GET (queries) and POST
// (mutations, batches), with the context built from the request's cookie or
// Authorization header.
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '../../../../server/routers/_app.ts';
import { createContext } from '../../../../server/trpc/context.ts';
import { logApiError } from '../../../../server/trpc/error-log.ts';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

function handler(req: Request): Promise<Response> {
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: ({ req: request, resHeaders }) => createContext({ req: request, resHeaders }),
    onError: ({ error, path, type }) => logApiError({ error, path, type }),
  });
}

export { handler as GET, handler as POST };
