// Errors from opening the database, with a code callers can branch on and a
// message fit to show an operator (connection URLs redacted).
export type DatabaseErrorCode = 'UNREACHABLE' | 'BAD_URL' | 'DATA_DIR' | 'DATA_DIR_IN_USE';

export class DatabaseError extends Error {
  constructor(
    readonly code: DatabaseErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseError';
  }
}

/** A driver error as one line. Connecting to "localhost" tries ::1 and 127.0.0.1 and fails with an AggregateError whose own message is empty. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describeError).join('; ');
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
