// Every path a comment or a document cites exists in this repository: a
// reader who follows `docs/wire.md` or `agent/varp/cache.ts` finds it. Scans
// the comments of source files and the whole text of Markdown pages for
// paths under the repository's top-level folders, and the relative links of
// Markdown pages. Generated and build outputs (ignored by git) count as
// existing once built, so they are not checked.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
// Tracked files, and new ones not yet committed (but not ignored ones).
const files = git('ls-files', '--cached', '--others', '--exclude-standard').split('\n').filter((f) => f && existsSync(join(root, f)));
const dirs = new Set(files.flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
const known = (p: string) => files.includes(p) || dirs.has(p.replace(/\/$/, ''));
const topLevel = [...new Set(files.filter((f) => f.includes('/')).map((f) => f.split('/')[0]!))];
/** A path under a top-level folder (or the `spec/` a page once cited), as written in prose. */
const PATH = new RegExp(`(?<![\\w./@~-])((?:${[...topLevel, 'spec'].map((t) => t.replace(/\./g, '\\.')).join('|')})/[\\w.\\-\\[\\]/]*[\\w\\]])`, 'g');

const CODE = /\.(ts|tsx|mjs|js|c|h)$/;
const HASH = /(\.sh|\.ya?ml|\.prisma|^\.ci\/run)$/;

/** The comment text of a source file: `//` and `/* … *\/` (C-like) or `#` lines. */
function commentsOf(file: string, text: string): string {
  if (HASH.test(file)) return text.split('\n').map((l) => /(^|\s)#(.*)$/.exec(l)?.[2] ?? '').join('\n');
  const out: string[] = [];
  for (const m of text.matchAll(/\/\*[\s\S]*?\*\/|(?<![:'"`\\])\/\/[^\n]*/g)) out.push(m[0]);
  return out.join('\n');
}

/** Paths git ignores (as files, or as folders: `e2e/artifacts/`). */
function ignored(paths: string[]): Set<string> {
  if (!paths.length) return new Set();
  const asked = paths.flatMap((p) => [p, `${p}/`]);
  let out: string;
  try {
    out = execFileSync('git', ['check-ignore', '--no-index', ...asked], { cwd: root, encoding: 'utf8' });
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? ''); // exit 1: none ignored
  }
  return new Set(out.split('\n').filter(Boolean).map((p) => p.replace(/\/$/, '')));
}

function missingPaths(): string[] {
  const cited: { path: string; in: string }[] = [];
  for (const f of files) {
    if (f === 'test/doc-paths.test.ts') continue; // its own examples cite missing paths on purpose
    const md = f.endsWith('.md');
    if (!md && !CODE.test(f) && !HASH.test(f)) continue;
    const text = readFileSync(join(root, f), 'utf8');
    const scanned = md ? text : commentsOf(f, text);
    for (const m of scanned.matchAll(PATH)) cited.push({ path: m[1]!.replace(/\.$/, ''), in: f });
    if (md) {
      // Relative links: [text](wire.md), [text](../agent/cli.ts#L3).
      for (const m of text.matchAll(/\]\((?!https?:|mailto:|#)([^)\s#]+)(#[^)]*)?\)/g)) {
        cited.push({ path: normalize(join(dirname(f), m[1]!)), in: f });
      }
    }
  }
  const unknown = cited.filter((c) => !known(c.path));
  const skip = ignored([...new Set(unknown.map((c) => c.path))]);
  return unknown.filter((c) => !skip.has(c.path)).map((c) => `${c.in}: ${c.path}`);
}

describe('paths cited in comments and docs', () => {
  it('every one exists in the repository', () => {
    expect(missingPaths()).toEqual([]);
  });

  it('the scan finds a path that does not exist (spec/wire.md) in a comment and in a page', () => {
    const text = "const x = 1; // the bytes are in spec/wire.md\nconst url = 'http://h/agent/none.ts';\n/* see agent/varp/none.ts */";
    const found = [...commentsOf('a.ts', text).matchAll(PATH)].map((m) => m[1]);
    expect(found).toEqual(['spec/wire.md', 'agent/varp/none.ts']);
    expect(known('spec/wire.md')).toBe(false);
    expect(known('docs/wire.md')).toBe(true);
    expect(known('agent/varp')).toBe(true);
  });
});
