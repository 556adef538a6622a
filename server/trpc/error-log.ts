// Server-side API failures become one JSON line on stderr. Inputs are never
// logged (they may hold passwords or tokens), and anything in a message that
// looks like a secret is masked, since driver errors sometimes quote values.
import type { TRPCError } from '@trpc/server';

const SECRET_PATTERNS: RegExp[] = [
  /\bsud[che]_[A-Za-z0-9_-]+/g, // API tokens, host credentials, enrollment tokens
  /\bscrypt\$[^\s"'`,}]+/g, // password hashes
  /\b[0-9a-f]{64}\b/gi, // SHA-256 of tokens
  /(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi, // passwords inside database URLs
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const re of SECRET_PATTERNS) {
    out = out.replace(re, (match, userPart?: unknown) =>
      typeof userPart === 'string' && match.startsWith(userPart) ? `${userPart}[redacted]@` : '[redacted]',
    );
  }
  return out;
}

/** Codes that mean the server failed, as opposed to the caller. */
const SERVER_CODES = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE', 'NOT_IMPLEMENTED', 'BAD_GATEWAY', 'GATEWAY_TIMEOUT']);

export function logApiError(
  opts: { error: TRPCError; path: string | undefined; type: string },
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): void {
  const { error } = opts;
  if (!SERVER_CODES.has(error.code)) return;
  const cause = error.cause;
  const firstLine = (s: string) => s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  write(
    JSON.stringify({
      level: 'error',
      time: new Date().toISOString(),
      msg: 'api request failed',
      path: opts.path ?? null,
      type: opts.type,
      code: error.code,
      error: scrubSecrets(firstLine(error.message)).slice(0, 500),
      cause: cause ? `${cause.name}: ${scrubSecrets(firstLine(cause.message)).slice(0, 500)}` : null,
    }),
  );
}
