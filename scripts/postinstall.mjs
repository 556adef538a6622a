// Runs after `npm install` / `npm ci`:
// 1. generates the Prisma client. The Prisma CLI would try to download a
//    schema-engine binary, which `generate` does not need: pointing
//    PRISMA_SCHEMA_ENGINE_BINARY at any path keeps it offline.
// 2. builds the TAP frame I/O addon (agent/native) with npm's bundled node-gyp
//    and the local Node headers (scripts/build-native.mjs).
// 3. compiles the kernel fast path's BPF object (scripts/build-bpf.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let status = 0;
if (existsSync('prisma/schema.prisma')) {
  const env = { ...process.env };
  env.PRISMA_SCHEMA_ENGINE_BINARY ??= '/bin/true';
  env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
  const r = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: 'inherit', env });
  status = r.status ?? 1;
}
if (existsSync('agent/native/binding.gyp')) {
  const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { stdio: 'inherit' });
  if (status === 0) status = r.status ?? 1;
}
if (existsSync('agent/bpf/softudc.bpf.c')) {
  const r = spawnSync(process.execPath, ['scripts/build-bpf.mjs'], { stdio: 'inherit' });
  if (status === 0) status = r.status ?? 1;
}
process.exit(status);
