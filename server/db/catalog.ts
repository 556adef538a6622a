// What the database actually contains in the public schema, read from the
// catalogs in plain shapes, for comparing migrations with schema.prisma.
import type { SqlExecutor, SqlTx } from './sql.ts';

export interface CatalogColumn {
  table: string;
  column: string;
  /** information_schema udt_name: int4, text, uuid, timestamptz, jsonb, an enum's name, … */
  udt: string;
  dataType: string;
  nullable: boolean;
  default: string | null;
  datetimePrecision: number | null;
}

export interface CatalogIndex {
  name: string;
  table: string;
  unique: boolean;
  primary: boolean;
  columns: string[];
}

export interface CatalogForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  /** pg_constraint codes: a no action, r restrict, c cascade, n set null, d set default. */
  onDelete: string;
  onUpdate: string;
}

export interface Catalog {
  tables: string[];
  columns: CatalogColumn[];
  indexes: CatalogIndex[];
  foreignKeys: CatalogForeignKey[];
  enums: Map<string, string[]>;
}

const COLUMNS = `
SELECT table_name AS "table", column_name AS "column", udt_name AS udt, data_type AS "dataType",
       is_nullable = 'YES' AS nullable, column_default AS "default", datetime_precision AS "datetimePrecision"
  FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`;

const INDEXES = `
SELECT i.relname::text AS name, t.relname::text AS "table", ix.indisunique AS "unique", ix.indisprimary AS "primary",
       array_agg(a.attname::text ORDER BY k.ord) AS columns
  FROM pg_index ix
  JOIN pg_class i ON i.oid = ix.indexrelid
  JOIN pg_class t ON t.oid = ix.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
 WHERE n.nspname = 'public'
 GROUP BY 1, 2, 3, 4 ORDER BY 2, 1`;

const FOREIGN_KEYS = `
SELECT c.conname::text AS name, t.relname::text AS "table", r.relname::text AS "refTable",
       (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
       (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS "refColumns",
       c.confdeltype::text AS "onDelete", c.confupdtype::text AS "onUpdate"
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_class r ON r.oid = c.confrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE c.contype = 'f' AND n.nspname = 'public' ORDER BY 2, 1`;

const ENUMS = `
SELECT t.typname::text AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' GROUP BY 1 ORDER BY 1`;

const TABLES = `
SELECT table_name AS name FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`;

export function readCatalog(exec: SqlExecutor): Promise<Catalog> {
  return exec.session((s) => readCatalogIn(s));
}

/** The same, inside an open transaction (so uncommitted DDL is seen). */
export async function readCatalogIn(s: SqlTx): Promise<Catalog> {
  const tables = await s.query<{ name: string }>(TABLES);
  const columns = await s.query<CatalogColumn>(COLUMNS);
  const indexes = await s.query<CatalogIndex>(INDEXES);
  const foreignKeys = await s.query<CatalogForeignKey>(FOREIGN_KEYS);
  const enums = await s.query<{ name: string; labels: string[] }>(ENUMS);
  return {
    tables: tables.map((t) => t.name),
    columns: columns.map((c) => ({ ...c, datetimePrecision: c.datetimePrecision === null ? null : Number(c.datetimePrecision) })),
    indexes,
    foreignKeys,
    enums: new Map(enums.map((e) => [e.name, e.labels])),
  };
}
