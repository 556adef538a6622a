// The contract's rules about itself: every object says what it does with
// fields it does not list (open towards agents, closed towards the console,
// never silently stripping), and nothing outside contract/ defines its shapes
// or its limits again.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as limits from './limits.ts';
import { agentCommandSchema, commandResultAnswerSchema, commandResultData, commandResultSchema } from './commands.ts';
import { enrollAnswerSchema, enrollRequestSchema } from './enroll.ts';
import { agentStateSchema, desiredMessageSchema, hostStateSchema } from './hostState.ts';
import { jsonSchemaOf, objectPolicies, type ObjectPolicy } from './inspect.ts';
import { reportAnswerSchema, reportSchema } from './report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIP = new Set(['node_modules', '.next', 'generated', 'data', '.git', 'build', 'artifacts']);

function sources(dir = ROOT): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|tsx|mjs)$/.test(name) && !/\.test\.ts$/.test(name)) out.push(path);
  }
  return out;
}

function policies(schema: z.ZodType): Set<ObjectPolicy> {
  return new Set(objectPolicies(jsonSchemaOf(schema)).map((o) => o.policy));
}

describe('contract objects', () => {
  it('towards the agent are open at every level: an older agent keeps what a newer console adds', () => {
    for (const s of [hostStateSchema, agentStateSchema, desiredMessageSchema, agentCommandSchema, reportAnswerSchema, enrollAnswerSchema, commandResultAnswerSchema]) {
      expect(policies(s)).toEqual(new Set(['open']));
    }
  });

  it('towards the console are closed at every level: it stores only what it knows', () => {
    for (const s of [reportSchema, commandResultSchema, enrollRequestSchema, ...Object.values(commandResultData)]) {
      expect(policies(s)).toEqual(new Set(['closed']));
    }
  });

  it('are built with open() or closed(), never with a plain z.object that drops fields unseen', () => {
    const plain = sources(join(ROOT, 'contract')).filter((f) => /\bz\.object\(/.test(readFileSync(f, 'utf8')));
    expect(plain.map((f) => relative(ROOT, f))).toEqual([]);
  });
});

describe('one definition', () => {
  const files = sources().filter((f) => !relative(ROOT, f).startsWith('contract/'));

  it('of every shared limit: nothing outside contract/limits.ts defines a constant of its name', () => {
    const names = Object.keys(limits);
    expect(names.length).toBeGreaterThan(30);
    const found: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const n of names) if (new RegExp(`\\bconst\\s+${n}\\s*=`).test(text)) found.push(`${relative(ROOT, f)}: ${n}`);
    }
    expect(found).toEqual([]);
  });

  it('of the host state: no schema outside contract/ describes its fields', () => {
    // Keys only the host state has (and the fields the console and agent once described separately).
    const HOST_STATE_KEYS = /\b(underlay|sendKeyId|peerHost|ripTimers|conntrack|relay|guest|vlan)\s*:\s*(z\.|[a-zA-Z]+Schema\b)/;
    const found = files.filter((f) => HOST_STATE_KEYS.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
    expect(found).toEqual([]);
  });
});
