// Every procedure's input schema, walked field by field (so a procedure or a
// field added later is covered without touching this file): a valid input is
// built from the schema, then one field at a time is replaced by a value the
// database cannot store — an integer of 2³¹ (past a 32-bit column; for fields
// that legitimately go past it, the first integer beyond their bound) or a
// string holding U+0000 (which no Postgres text or jsonb value may hold) —
// and the call must be refused with BAD_REQUEST naming that very field, never
// a 500 and never anything the service did with the value.
import { TRPCError } from '@trpc/server';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import { callProcedure, procedures } from './procedures.ts';

const PUBLIC = new Set(['auth.login', 'auth.logout', 'host.enroll']);
const INT32_LIMIT = 2 ** 31;
const NUL_TEXT = 'a\u0000b';

type Schema = z.core.$ZodType;
const def = (s: Schema) => s._zod.def as unknown as Record<string, unknown> & { type: string };

/** Wrappers (optional, default, …) around the schema that decides; a pipe's input side. */
function unwrap(s: Schema): Schema {
  const d = def(s);
  if (['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch'].includes(d.type)) return unwrap(d.innerType as Schema);
  if (d.type === 'pipe') return unwrap(d.in as Schema);
  return s;
}

const STRING_SAMPLES = ['a1', 'abc', randomUUID(), '10.0.0.1', '10.1.0.0/24', 'h1', 'eth0', 'password-long-enough', 'sude_x', '1'];
const INT_SAMPLES = [1, 4, 100, 1000, 0];

/** A value the schema accepts (the first of a few candidates for strings and numbers). */
function sample(schema: Schema): unknown {
  const s = unwrap(schema);
  const d = def(s);
  const accepts = (v: unknown) => (s as z.ZodType).safeParse(v).success;
  switch (d.type) {
    case 'object': {
      const shape = d.shape as Record<string, Schema>;
      return Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, sample(v)]));
    }
    case 'array':
      return [sample(d.element as Schema)];
    case 'record':
      return { [sample(d.keyType as Schema) as string]: sample(d.valueType as Schema) };
    case 'string': {
      const hit = STRING_SAMPLES.find(accepts);
      if (hit === undefined) throw new Error('no sample string fits');
      return hit;
    }
    case 'number': {
      const hit = INT_SAMPLES.find(accepts);
      if (hit === undefined) throw new Error('no sample number fits');
      return hit;
    }
    case 'boolean':
      return false;
    case 'enum':
      return Object.values(d.entries as Record<string, unknown>)[0];
    case 'literal':
      return (d.values as unknown[])[0];
    case 'union':
      return sample((d.options as Schema[])[0]!);
    case 'date':
      return new Date();
    case 'unknown':
    case 'any':
      return {};
    default:
      throw new Error(`cannot sample a ${d.type}`);
  }
}

interface Probe {
  /** Dotted path of the field, as the API's `error.data.field` names it. */
  field: string;
  /** The input with that one field replaced. */
  input: unknown;
  what: string;
}

const isInt = (s: Schema) => def(s).type === 'number' && (s as z.ZodNumber).isInt;

/** The first integer past what the field accepts, or 2³¹ for a field bounded below it (the usual case). */
function tooBig(s: Schema): number {
  const max = (s as z.ZodNumber).maxValue ?? Number.MAX_SAFE_INTEGER;
  return max >= INT32_LIMIT && max < Number.MAX_SAFE_INTEGER ? max + 1 : INT32_LIMIT;
}

/** Every integer and string leaf of `s` (and every record key), each with a value no column can hold. */
function probes(schema: Schema, value: unknown, path: string[], set: (v: unknown) => unknown, out: Probe[]): void {
  const s = unwrap(schema);
  const d = def(s);
  const field = path.join('.');
  switch (d.type) {
    case 'object': {
      const obj = value as Record<string, unknown>;
      for (const [k, child] of Object.entries(d.shape as Record<string, Schema>)) {
        probes(child, obj[k], [...path, k], (v) => set({ ...obj, [k]: v }), out);
      }
      return;
    }
    case 'array': {
      const list = value as unknown[];
      probes(d.element as Schema, list[0], [...path, '0'], (v) => set([v, ...list.slice(1)]), out);
      return;
    }
    case 'record': {
      const [key, v] = Object.entries(value as Record<string, unknown>)[0]!;
      out.push({ field: [...path, 'k\u0000'].join('.'), input: set({ 'k\u0000': v }), what: 'U+0000 in a key' });
      probes(d.valueType as Schema, v, [...path, key], (x) => set({ [key]: x }), out);
      return;
    }
    case 'union':
      return probes((d.options as Schema[])[0]!, value, path, set, out);
    case 'string':
      out.push({ field, input: set(NUL_TEXT), what: 'U+0000' });
      return;
    case 'number':
      if (isInt(s)) out.push({ field, input: set(tooBig(s)), what: `${tooBig(s)}` });
      return;
    default:
      return;
  }
}

let f: ControlFixture;
let host: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  host = await f.host('sweep-1', '127.0.0.2');
}, 60_000);
afterAll(() => f?.drop());

/** How a call ends: its tRPC code and field, or 'ok'. A subscription is closed at once. */
async function outcome(path: string, input: unknown): Promise<{ code: string; field: string | null; message: string }> {
  const abort = new AbortController();
  const actor = PUBLIC.has(path) ? null : path.startsWith('agent.') ? host.actor : f.admin;
  try {
    await callProcedure(f.caller(actor, abort.signal), path, input, abort);
    return { code: 'ok', field: null, message: '' };
  } catch (e) {
    if (!(e instanceof TRPCError)) return { code: `not a TRPCError: ${String(e)}`, field: null, message: '' };
    const cause = e.cause as { issues?: { path: PropertyKey[]; code: string; keys?: string[] }[]; field?: string } | undefined;
    const first = cause?.issues?.[0];
    const field = first ? [...first.path.map(String), ...(first.code === 'unrecognized_keys' ? (first.keys ?? []).slice(0, 1) : [])].join('.') : (cause?.field ?? null);
    return { code: e.code, field, message: e.message };
  }
}

describe('inputs the database cannot hold', () => {
  const withInput = procedures.filter((p) => p.input);

  it('builds a valid input for every procedure that takes one', () => {
    expect(withInput.length).toBeGreaterThan(80);
    const bad = withInput.filter((p) => !(p.input as z.ZodType).safeParse(sample(p.input!)).success).map((p) => p.path);
    expect(bad).toEqual([]);
  });

  it('refuses 2³¹ in every integer field and U+0000 in every string field with BAD_REQUEST naming the field', async () => {
    const wrong: string[] = [];
    let count = 0;
    for (const p of withInput) {
      const list: Probe[] = [];
      probes(p.input!, sample(p.input!), [], (v) => v, list);
      for (const probe of list) {
        count++;
        const got = await outcome(p.path, probe.input);
        if (got.code !== 'BAD_REQUEST' || got.field !== probe.field) {
          wrong.push(`${p.path} ${probe.field} (${probe.what}): ${got.code} ${got.field ?? ''} ${got.message.slice(0, 80)}`);
        }
      }
    }
    expect(count).toBeGreaterThan(200);
    expect(wrong).toEqual([]);
  }, 300_000);
});
