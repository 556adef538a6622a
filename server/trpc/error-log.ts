// Server-side API failures become one error line in the console's log
// (log/index.ts). Inputs are never logged (they may hold passwords or
// tokens), and anything in a message that looks like a secret is masked,
// since driver errors sometimes quote values.
import type { TRPCError } from '@trpc/server';
import { consoleLogger, createLogger, scrubSecrets } from '../../log/index.ts';

export { scrubSecrets };

/** Codes that mean the server failed, as opposed to the caller. */
const SERVER_CODES = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE', 'NOT_IMPLEMENTED', 'BAD_GATEWAY', 'GATEWAY_TIMEOUT']);

export function logApiError(opts: { error: TRPCError; path: string | undefined; type: string }, write?: (line: string) => void): void {
  const { error } = opts;
  if (!SERVER_CODES.has(error.code)) return;
  const log = write ? createLogger({ write, fields: { component: 'console' } }) : consoleLogger();
  const cause = error.cause;
  const firstLine = (s: string) => s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  log.error('api request failed', {
    path: opts.path ?? null,
    type: opts.type,
    code: error.code,
    error: firstLine(error.message).slice(0, 500),
    cause: cause ? `${cause.name}: ${firstLine(cause.message).slice(0, 500)}` : null,
  });
}
