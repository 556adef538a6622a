// The fast path's system-call surface (agent/native/bpf.c, module
// softudc_bpf): pinned objects, map entries, socket filters. Loaded lazily;
// null (with the reason) when the addon was not built.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface BpfAddon {
  /** The fd of a pinned map or program (BPF_OBJ_GET). */
  objGet(path: string): number;
  mapUpdate(fd: number, key: Buffer, value: Buffer): void;
  /** False when the key was absent. */
  mapDelete(fd: number, key: Buffer): boolean;
  /** False when absent; the value lands in `out` (per-CPU maps: one 8-byte slot per possible CPU). */
  mapLookup(fd: number, key: Buffer, out: Buffer): boolean;
  /** The key after `key` (the first with null) into `out`; false after the last. */
  mapNextKey(fd: number, key: Buffer | null, out: Buffer): boolean;
  /** Attaches program `progFd` as the socket's filter (SO_ATTACH_BPF); -1 detaches. */
  attachSocket(sockFd: number, progFd: number): void;
  closeFd(fd: number): void;
}

const MODULE = fileURLToPath(new URL('../native/build/Release/softudc_bpf.node', import.meta.url));

let cached: { addon: BpfAddon | null; reason: string | null } | undefined;

/** The addon, or null and why not. */
export function loadBpfAddon(): { addon: BpfAddon | null; reason: string | null } {
  if (cached) return cached;
  if (!existsSync(MODULE)) {
    cached = { addon: null, reason: 'the native addon has no BPF module (node scripts/build-native.mjs)' };
    return cached;
  }
  try {
    cached = { addon: createRequire(import.meta.url)(MODULE) as BpfAddon, reason: null };
  } catch (err) {
    cached = { addon: null, reason: `the BPF module does not load: ${(err as Error).message}` };
  }
  return cached;
}
