#!/usr/bin/env node
// Lists import cycles between folders of a source tree (tests excluded):
// `node scripts/folder-cycles.mjs agent` prints each cycle and exits 1 when
// there is one. A file's folder is its directory; `import type` counts too.
// Generated code (the Prisma client in server/db/generated, not in git) is not
// the project's own and is left out.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? 'agent');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'generated' && name !== 'node_modules') walk(p);
    }
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) files.push(p);
  }
})(root);

const edges = new Map(); // folder -> Map(folder -> example "file -> import")
for (const f of files) {
  const from = relative(root, dirname(f)) || '.';
  for (const m of readFileSync(f, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = resolve(dirname(f), m[1]);
    if (!target.startsWith(root)) continue;
    const to = relative(root, dirname(target)) || '.';
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, `${relative(root, f)} -> ${m[1]}`);
  }
}

// Tarjan's strongly connected components: every component of more than one folder is a cycle.
let index = 0;
const idx = new Map(), low = new Map(), stack = [], on = new Set(), sccs = [];
function visit(v) {
  idx.set(v, index); low.set(v, index++); stack.push(v); on.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const c = [];
    let w;
    do { w = stack.pop(); on.delete(w); c.push(w); } while (w !== v);
    if (c.length > 1) sccs.push(c);
  }
}
for (const v of edges.keys()) if (!idx.has(v)) visit(v);

for (const c of sccs) {
  console.log(`cycle: ${c.join(', ')}`);
  for (const a of c) for (const [b, why] of edges.get(a) ?? []) if (c.includes(b)) console.log(`  ${a} -> ${b}: ${why}`);
}
console.log(`${files.length} files, ${sccs.length} folder cycle(s) under ${relative(process.cwd(), root) || '.'}`);
process.exit(sccs.length ? 1 : 0);
