// Compiles the agent's kernel fast path (agent/bpf/softudc.bpf.c) into
// agent/bpf/build/softudc.bpf.o with clang's BPF target. It needs clang and
// the libbpf headers (Debian: clang libbpf-dev; .ci/install-deps.sh).
//
// Usage: node scripts/build-bpf.mjs [--force] [--quiet]
// Exit 0 when built or up to date. Without a compiler it warns and exits 0
// (the agent then runs the userspace path and says why), unless
// SOFTUDC_REQUIRE_ALL=1 or --strict, where it exits 1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'agent', 'bpf', 'softudc.bpf.c');
const output = join(root, 'agent', 'bpf', 'build', 'softudc.bpf.o');
const args = new Set(process.argv.slice(2));
const strict = args.has('--strict') || process.env.SOFTUDC_REQUIRE_ALL === '1';
const quiet = args.has('--quiet');

const log = (msg) => quiet || console.log(`build-bpf: ${msg}`);
function fail(msg) {
  console.error(`build-bpf: ${msg}`);
  if (strict) process.exit(1);
  console.error('build-bpf: continuing without the kernel fast path (agents use the userspace path)');
  process.exit(0);
}

if (process.platform !== 'linux') {
  log(`skipped: the kernel fast path needs Linux (this is ${process.platform})`);
  process.exit(0);
}
if (!args.has('--force') && existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) {
  log('up to date');
  process.exit(0);
}
if (!existsSync('/usr/include/bpf/bpf_helpers.h')) fail('libbpf headers missing (/usr/include/bpf/bpf_helpers.h; Debian: libbpf-dev)');
// <asm/types.h> lives under the multiarch include directory on Debian.
const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[arch()];
mkdirSync(dirname(output), { recursive: true });
const argv = ['-O2', '-g', '-Wall', '-Werror', '-target', 'bpf', ...(multiarch ? [`-I/usr/include/${multiarch}`] : []), '-c', source, '-o', output];
const r = spawnSync('clang', argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.error) fail(`clang not found (${r.error.message}; Debian: clang)`);
if (r.status !== 0) {
  process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  fail(`clang failed (exit ${r.status ?? r.signal})`);
}
log(`built ${output.slice(root.length + 1)}`);
