// Regenerates the table of environment variables in docs/operations.md from
// config/variables.ts (`npm run docs:config`); the prose around it is kept.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDoc } from '../config/docs.ts';

const page = fileURLToPath(new URL('../docs/operations.md', import.meta.url));
const before = readFileSync(page, 'utf8');
const after = renderConfigDoc(before);
if (after === before) console.log('docs/operations.md: the configuration table is up to date');
else {
  writeFileSync(page, after);
  console.log('docs/operations.md: configuration table regenerated from config/variables.ts');
}
