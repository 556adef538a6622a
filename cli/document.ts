// Reading a farm document from a file (or `-`, standard input): JSON syntax
// errors with their line and column, schema errors with the path of the bad
// field (`document.vms.1.vifs.0.vnet`, as the console names it), before
// anything is sent. References between items and to hosts are the console's
// to check (plan and apply do); it names the field the same way.
import { readFile } from 'node:fs/promises';
import { farmDocumentSchema } from '../server/farms/farmDocument.ts';
import { CliError, EXIT } from './errors.ts';

/** Line and column (from 1) of a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

export async function readDocumentFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(EXIT.invalid, `${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? ` (${lineColumn(text, Number(pos[1]))})` : '';
    throw new CliError(EXIT.invalid, `${file}: not valid JSON: ${msg.replace(/\s*\(line \d+ column \d+\)/, '')}${where}; nothing was changed`);
  }
  const r = farmDocumentSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [];
    const path = ['document', ...issue.path.map(String), ...keys].join('.');
    throw new CliError(EXIT.invalid, `${file}: ${path}: ${issue.message}; nothing was changed`);
  }
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
