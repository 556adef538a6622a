// Prisma's own reading of schema.prisma (the DMMF), for tests that check the
// migrations against the schema. Prisma 7's generated client no longer ships
// the DMMF, and @prisma/internals is not a dependency, so this calls
// `get_dmmf` in the schema wasm module that the `prisma` CLI package carries
// (the same module `prisma generate` uses). The JS side of that wasm-bindgen
// ABI is small: strings go in and out through the module's allocator.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface DmmfField {
  name: string;
  dbName: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  type: string;
  nativeType: [string, string[]] | null;
  isList: boolean;
  isRequired: boolean;
  isUnique: boolean;
  isId: boolean;
  isUpdatedAt: boolean;
  hasDefaultValue: boolean;
  default?: unknown;
  relationName?: string;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}

export interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
  primaryKey: { name: string | null; fields: string[] } | null;
  uniqueFields: string[][];
  uniqueIndexes: { name: string | null; fields: string[] }[];
}

export interface DmmfIndex {
  model: string;
  type: 'id' | 'normal' | 'unique' | 'fulltext';
  isDefinedOnField: boolean;
  dbName: string | null;
  fields: { name: string }[];
}

export interface Datamodel {
  models: DmmfModel[];
  enums: { name: string; dbName: string | null; values: { name: string; dbName: string | null }[] }[];
  indexes: DmmfIndex[];
}

interface SchemaWasm {
  memory: WebAssembly.Memory;
  __wbindgen_malloc(len: number, align: number): number;
  __wbindgen_free(ptr: number, len: number, align: number): void;
  __wbindgen_externrefs: WebAssembly.Table;
  __externref_table_dealloc(idx: number): void;
  __wbindgen_start(): void;
  get_dmmf(ptr: number, len: number): [number, number, number, number];
}

let wasm: SchemaWasm | undefined;
const utf8in = new TextEncoder();
const utf8out = new TextDecoder('utf-8', { fatal: true });

function readString(ptr: number, len: number): string {
  return utf8out.decode(new Uint8Array(wasm!.memory.buffer, ptr >>> 0, len));
}

function load(): SchemaWasm {
  if (wasm) return wasm;
  const require = createRequire(import.meta.url);
  const file = path.join(path.dirname(require.resolve('prisma/package.json')), 'build/prisma_schema_build_bg.wasm');
  const module = new WebAssembly.Module(readFileSync(file));
  const imports: Record<string, (...args: never[]) => unknown> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    // Names carry a hash suffix that changes between releases; match on the stem.
    if (imp.name.startsWith('__wbindgen_init_externref_table')) {
      imports[imp.name] = () => {
        const table = wasm!.__wbindgen_externrefs;
        const base = table.grow(4);
        table.set(0, undefined);
        [undefined, null, true, false].forEach((v, i) => table.set(base + i, v));
      };
    } else if (imp.name.startsWith('__wbg_Error_')) {
      imports[imp.name] = ((ptr: number, len: number) => new Error(readString(ptr, len))) as never;
    } else if (imp.name.startsWith('__wbg_set_message_')) {
      imports[imp.name] = () => undefined; // panic message registry: the thrown error carries it too
    } else if (imp.name.includes('throw')) {
      imports[imp.name] = ((ptr: number, len: number) => {
        throw new Error(readString(ptr, len));
      }) as never;
    } else {
      throw new Error(`prisma schema wasm needs an unknown import ${imp.name}; update server/db/dmmf.ts`);
    }
  }
  const instance = new WebAssembly.Instance(module, { __wbindgen_placeholder__: imports });
  wasm = instance.exports as unknown as SchemaWasm;
  wasm.__wbindgen_start();
  return wasm;
}

/** The DMMF datamodel of a schema, exactly as `prisma generate` sees it. */
export function getDatamodel(schemaText: string, fileName = 'schema.prisma'): Datamodel {
  const w = load();
  const input = utf8in.encode(JSON.stringify({ prismaSchema: [[fileName, schemaText]], noColor: true }));
  const ptr = w.__wbindgen_malloc(input.length, 1) >>> 0;
  new Uint8Array(w.memory.buffer, ptr, input.length).set(input);
  const [outPtr, outLen, errIdx, isErr] = w.get_dmmf(ptr, input.length);
  if (isErr) {
    const err = w.__wbindgen_externrefs.get(errIdx) as unknown;
    w.__externref_table_dealloc(errIdx);
    throw err instanceof Error ? err : new Error(String(err));
  }
  try {
    return (JSON.parse(readString(outPtr, outLen)) as { datamodel: Datamodel }).datamodel;
  } finally {
    w.__wbindgen_free(outPtr, outLen, 1);
  }
}
