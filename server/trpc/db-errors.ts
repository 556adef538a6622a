// Prisma / driver errors that reach the API become clear AppErrors instead of
// 500s with stack traces: unique violations name the fields, a missing row is
// NOT_FOUND, an unreachable database says so without leaking its URL.
import { AppError } from '../errors.ts';

interface PrismaLikeError {
  name?: string;
  code?: string;
  message?: string;
  meta?: { target?: unknown; modelName?: string; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } };
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'P1001', 'P1002', 'P1017', '57P01']);

export function mapDatabaseError(err: unknown): AppError | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as PrismaLikeError;
  if (e.code === 'P2002') {
    const target = e.meta?.target ?? e.meta?.driverAdapterError?.cause?.constraint?.fields;
    const fields = Array.isArray(target) ? target.map(String) : typeof target === 'string' ? [target] : [];
    const field = fields[fields.length - 1] ?? 'name';
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
