// Domain errors. Services throw AppError (never TRPCError); the tRPC layer maps
// them in one place (server/trpc/init.ts), so services stay usable from
// scripts, the agent link and tests without tRPC.

export type AppErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'TOO_MANY_REQUESTS'
  | 'TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

export class AppError extends Error {
  readonly code: AppErrorCode;
  /** Dotted path of the offending input field, e.g. `vifs.0.ip`. */
  readonly field: string | undefined;
  /** Extra machine-readable detail (e.g. the VIFs that still use a vnet). */
  readonly details: unknown;

  constructor(code: AppErrorCode, message: string, opts: { field?: string; details?: unknown; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.field = opts.field;
    this.details = opts.details;
  }
}

/** `field: message`, once: a message that already names its field is not prefixed again. */
const named = (field: string, message: string) => (message.startsWith(`${field}: `) ? message : `${field}: ${message}`);

export const badRequest = (field: string, message: string, details?: unknown) =>
  new AppError('BAD_REQUEST', named(field, message), { field, details });
export const notFound = (entity: string, field = 'id') =>
  new AppError('NOT_FOUND', `${field}: ${entity} not found`, { field });
export const conflict = (field: string, message: string, details?: unknown) =>
  new AppError('CONFLICT', named(field, message), { field, details });
export const forbidden = (message = 'not allowed for this role') => new AppError('FORBIDDEN', message);
