// Many rows into one table in a few statements. Each column travels as one
// array parameter and `unnest` turns the arrays back into rows, so a statement
// has as many parameters as the table has columns, whatever the row count.
// Prisma's createMany sends one parameter per value instead: a farm of 16 000
// VIFs cost it seconds and hundreds of megabytes of memory that the process
// (and an embedded database's WebAssembly heap) never gave back; this takes
// a tenth of the time and almost no memory. Rows go in chunks, so no single
// statement grows with the farm either.

/** Postgres element types of the columns written this way; enum types by their quoted name. */
export type ColumnType = 'uuid' | 'text' | 'int4' | 'int8' | 'bool' | 'jsonb' | '"VnetSecurity"' | '"GuestKind"' | '"FirewallAction"' | '"FirewallProtocol"' | '"SecurityDirection"';

/** Anything that runs raw SQL: a Prisma client or transaction. */
export interface RawExecutor {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/** Rows per statement. */
export const BULK_CHUNK_ROWS = 5_000;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Inserts `rows` into `table`, the columns listed in `columns` (in that
 * order, each with its element type). `updatedAt`: the table has a Prisma
 * `@updatedAt` column, which has no database default, so it is set to now().
 */
export async function insertRows<R extends Record<string, unknown>>(
  q: RawExecutor,
  table: string,
  columns: { [K in keyof R & string]: ColumnType },
  rows: readonly R[],
  opts: { updatedAt?: boolean } = {},
): Promise<void> {
  const names = Object.keys(columns) as (keyof R & string)[];
  // Enum arrays travel as text[] and are cast in SQL: a driver that does not know the enum's array type
  // (the embedded database's adapter) would otherwise send them as "a,b" instead of an array literal.
  const arrays = names.map((n, i) => (columns[n].startsWith('"') ? `$${i + 1}::text[]::${columns[n]}[]` : `$${i + 1}::${columns[n]}[]`)).join(', ');
  const target = [...names.map(quote), ...(opts.updatedAt ? ['"updatedAt"'] : [])].join(', ');
  const sql = `INSERT INTO ${quote(table)} (${target}) SELECT u.*${opts.updatedAt ? ', now()' : ''} FROM unnest(${arrays}) AS u`;
  for (let start = 0; start < rows.length; start += BULK_CHUNK_ROWS) {
    const chunk = rows.slice(start, start + BULK_CHUNK_ROWS);
    // BigInts travel as text (not every driver serializes them inside arrays); Postgres casts them back.
    // JSON values travel as their text for the same reason.
    const values = names.map((n) => chunk.map((r) => (typeof r[n] === 'bigint' ? String(r[n]) : columns[n] === 'jsonb' ? JSON.stringify(r[n]) : (r[n] ?? null))));
    await q.$executeRawUnsafe(sql, ...values);
  }
}
