// How the CLI ends: one exit code per kind of outcome (docs/cli.md "Exit
// codes"), and one error type that carries it. Messages name what went
// wrong and, for a bad document, the path of the bad field.
import { TRPCClientError } from '@trpc/client';

export const EXIT = {
  ok: 0,
  /** Anything unexpected: the console unreachable, an internal error. */
  error: 1,
  /** A wrong command line. */
  usage: 2,
  /** The file or an input is invalid (syntax, schema, a reference to something missing); nothing changed. */
  invalid: 3,
  /** A concurrent edit or a name taken: nothing changed; plan again. */
  conflict: 4,
  /** Not signed in, or the token was refused or lacks the role. */
  auth: 5,
  /** The farm (or host) does not exist for this tenant. */
  notFound: 6,
  /** A host reported it cannot apply its state. */
  deployFailed: 7,
  /** Not every host applied before the timeout. */
  timeout: 8,
  /** A packet trace whose flow is dropped (or cannot be decided from the design). */
  dropped: 9,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

const BY_TRPC_CODE: Record<string, ExitCode> = {
  BAD_REQUEST: EXIT.invalid,
  PAYLOAD_TOO_LARGE: EXIT.invalid,
  UNPROCESSABLE_CONTENT: EXIT.invalid,
  CONFLICT: EXIT.conflict,
  UNAUTHORIZED: EXIT.auth,
  FORBIDDEN: EXIT.auth,
  NOT_FOUND: EXIT.notFound,
};

/** Any failure as a CliError: an API error keeps the console's message (it names the field), with its exit code. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof TRPCClientError) {
    const data = err.data as { code?: string; field?: string | null } | undefined;
    const code = data?.code ?? '';
    const exit = BY_TRPC_CODE[code];
    if (exit !== undefined) return new CliError(exit, err.message);
    const cause = err.cause as { code?: string; message?: string } | undefined;
    const reason = cause?.code === 'ECONNREFUSED' || /fetch failed/.test(err.message) ? 'the console cannot be reached' : err.message;
    return new CliError(EXIT.error, reason);
  }
  return new CliError(EXIT.error, err instanceof Error ? err.message : String(err));
}
