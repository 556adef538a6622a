// Prisma / driver errors that reach the API become clear AppErrors instead of
// 500s with stack traces: unique violations name the fields, a missing row is
// NOT_FOUND, an unreachable database says so without leaking its URL.
import { AppError } from '../errors.ts';

interface AdapterCause {
  originalMessage?: string;
  table?: string;
  constraint?: { fields?: string[]; index?: string };
}

interface PrismaLikeError {
  name?: string;
  code?: string;
  message?: string;
  meta?: { target?: unknown; modelName?: string; driverAdapterError?: { cause?: AdapterCause } };
}

/** Prisma's names for unique indexes: `<Model>_<field>_<field>_key` (prisma/migrations). */
const INDEX_NAME = /^([A-Za-z0-9]+)_([A-Za-z0-9_]+)_key$/;

/**
 * The columns of the unique constraint a write violated. Prisma reports
 * them differently per driver: the column list (embedded PGlite), only the
 * index name (node-postgres), or nothing but the database's message.
 */
function uniqueFields(e: PrismaLikeError): string[] {
  const target = e.meta?.target;
  if (Array.isArray(target)) return target.map(String);
  if (typeof target === 'string') return [target];
  const cause = e.meta?.driverAdapterError?.cause;
  const listed = cause?.constraint?.fields;
  if (listed?.length) return listed.map((f) => f.replace(/^"|"$/g, ''));
  const index = cause?.constraint?.index ?? /unique constraint "([^"]+)"/.exec(cause?.originalMessage ?? e.message ?? '')?.[1];
  const m = index ? INDEX_NAME.exec(index) : null;
  return m ? m[2]!.split('_') : [];
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'P1001', 'P1002', 'P1017', '57P01']);

export function mapDatabaseError(err: unknown): AppError | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as PrismaLikeError;
  if (e.code === 'P2002') {
    // The last column is the one claimed; those before it scope it (`farmId`, `hostId`, `interface`).
    const field = uniqueFields(e).at(-1);
    if (field === undefined) return new AppError('CONFLICT', 'already in use', { cause: err });
    return new AppError('CONFLICT', `${field}: already in use`, { field, cause: err });
  }
  if (e.code === 'P2025') return new AppError('NOT_FOUND', 'id: not found', { field: 'id', cause: err });
  if (e.code === 'P2003') return new AppError('CONFLICT', 'still referenced by other objects', { cause: err });
  if (e.code && CONNECTION_CODES.has(e.code)) {
    return new AppError('SERVICE_UNAVAILABLE', 'database unavailable; nothing was changed', { cause: err });
  }
  const msg = e.message ?? '';
  if (/ECONNREFUSED|Can't reach database|connection terminated|Connection terminated|timeout exceeded when trying to connect/i.test(msg)) {
    return new AppError('SERVICE_UNAVAILABLE', 'database unavailable; nothing was changed', { cause: err });
  }
  return null;
}
