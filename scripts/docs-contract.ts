// Regenerates the field tables of docs/agent-state.md from contract/
// (`npm run docs:contract`); the prose around them is left as it is.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { missingTables, renderDoc } from '../contract/docs.ts';

const page = fileURLToPath(new URL('../docs/agent-state.md', import.meta.url));
const before = readFileSync(page, 'utf8');
const after = renderDoc(before);
const missing = missingTables(after);
if (missing.length) {
  console.error(`docs/agent-state.md has no place for: ${missing.join(', ')} (add <!-- contract:NAME --><!-- /contract:NAME --> markers)`);
  process.exit(1);
}
if (after === before) console.log('docs/agent-state.md is up to date');
else {
  writeFileSync(page, after);
  console.log('docs/agent-state.md: field tables regenerated from contract/');
}
