import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseIp } from '../wire/index.ts';
import { VnetKeyring, type KeyMaterial, type Opened } from './keyring.ts';
import { COUNTER_MAX, FileSequenceStore, MemorySequenceStore, SEQUENCE_BLOCK, type SequenceStore } from './sequence.ts';

const K1: KeyMaterial = { id: 1, key: randomBytes(32), salt: randomBytes(4) };
const K2: KeyMaterial = { id: 2, key: randomBytes(32), salt: randomBytes(4) };
const A = parseIp('198.18.0.1');
const B = parseIp('198.18.0.2');
const C = parseIp('198.18.0.3');
const ETH = Buffer.concat([Buffer.from('025d00000002025d000000010800', 'hex'), Buffer.from('payload for the far side')]);

function ring(coa: number, keys: KeyMaterial[], send?: number, store?: SequenceStore): VnetKeyring {
  const r = new VnetKeyring(100, store);
  r.setSender(coa);
  r.update('conf', keys, send);
  return r;
}

function sealed(r: VnetKeyring): Buffer {
  const d = r.seal(ETH);
  if (typeof d === 'string') throw new Error(d);
  return d;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('VnetKeyring', () => {
  it('seals with the send key and opens with the sender taken from the sequence', () => {
    const a = ring(A, [K1]);
    const b = ring(B, [K1]);
    const d = sealed(a);
    expect(d.readUInt32BE(10)).toBe(1);
    expect(Number(d.readBigUInt64BE(14) >> 32n)).toBe(A);
    const o = b.open(d) as Opened;
    expect(o.ethernet).toEqual(ETH);
    expect(o.sender).toBe(A);
  });

  it('numbers frames 1, 2, 3... per key, each host in its own sequence space', () => {
    const a = ring(A, [K1]);
    const c = ring(C, [K1]);
    const seqs = [sealed(a), sealed(a), sealed(c)].map((d) => d.readBigUInt64BE(14));
    expect(seqs).toEqual([(BigInt(A) << 32n) | 1n, (BigInt(A) << 32n) | 2n, (BigInt(C) << 32n) | 1n]);
    // Same key, same counter, different senders: different nonces, and both pass the receiver's windows.
    const b = ring(B, [K1]);
    expect(b.open(sealed(ring(A, [K1])))).toHaveProperty('sender', A);
    expect(b.open(sealed(ring(C, [K1])))).toHaveProperty('sender', C);
  });

  it('drops a replayed frame and one that fell behind the window', () => {
    const a = ring(A, [K1]);
    const b = ring(B, [K1]);
    const first = sealed(a);
    expect(b.open(first)).toHaveProperty('ethernet');
    expect(b.open(first)).toBe('seal_replay');
    const later = Array.from({ length: 70 }, () => sealed(a));
    expect(b.open(later[69]!)).toHaveProperty('ethernet');
    // Counters 2..71 were sealed; the top is 71: counter 7 is 64 behind (out), counter 8 is 63 behind (in).
    expect(b.open(later[5]!)).toBe('seal_too_old');
    expect(b.open(later[6]!)).toHaveProperty('ethernet');
  });

  it('accepts old and new keys during a rotation overlap and rejects unknown ones', () => {
    const a = ring(A, [K1, K2], 1);
    const b = ring(B, [K1, K2], 1);
    const old = sealed(a);
    a.update('conf', [K1, K2], 2);
    const fresh = sealed(a);
    expect(fresh.readUInt32BE(10)).toBe(2);
    expect(b.open(old)).toHaveProperty('ethernet');
    expect(b.open(fresh)).toHaveProperty('ethernet');
    b.update('conf', [K2]);
    expect(b.sendKeyId).toBe(2);
    expect(b.open(sealed(ring(A, [K1])))).toBe('seal_unknown_key');
    expect(b.open(sealed(a))).toHaveProperty('ethernet'); // K2's window and counter survived the update
    const k9 = ring(A, [{ ...K1, id: 9 }]);
    expect(b.open(sealed(k9))).toBe('seal_unknown_key');
  });

  it('a key id that gets new material starts a new epoch', () => {
    const b = ring(B, [K1]);
    const a = ring(A, [K1]);
    for (let i = 0; i < 5; i++) b.open(sealed(a));
    const renewed = { ...K1, key: randomBytes(32) };
    b.update('conf', [renewed]);
    const a2 = ring(A, [renewed]);
    expect(b.open(sealed(a2))).toHaveProperty('ethernet'); // counter 1 again, a fresh window
  });

  it('never seals without a key and says why it cannot open', () => {
    const none = ring(A, []);
    expect(none.seal(ETH)).toBe('security_unavailable');
    expect(none.open(sealed(ring(B, [K1])))).toBe('seal_no_keys');
    expect(ring(B, [K1]).open(Buffer.alloc(30))).toBe('seal_truncated');
    const t = sealed(ring(A, [K1]));
    t[t.length - 1] = t[t.length - 1]! ^ 0x80;
    expect(ring(B, [K1]).open(t)).toBe('seal_bad_tag');
  });

  it('a forged frame does not move the window', () => {
    const a = ring(A, [K1]);
    const b = ring(B, [K1]);
    const frames = [sealed(a), sealed(a)];
    // A forgery claiming a far-ahead sequence from A: must not push frames[*] out of the window.
    const forged = Buffer.from(frames[1]!);
    forged.writeBigUInt64BE((BigInt(A) << 32n) | 1_000_000n, 14);
    expect(b.open(forged)).toBe('seal_bad_tag');
    expect(b.open(frames[0]!)).toHaveProperty('ethernet');
    expect(b.open(frames[1]!)).toHaveProperty('ethernet');
  });

  it('stops sealing when the 32-bit counter is used up', () => {
    const store: SequenceStore = {
      begin: () => ({ next: COUNTER_MAX, limit: COUNTER_MAX + 1 }),
      extend: () => COUNTER_MAX + 1,
      retain: () => {},
    };
    const a = ring(A, [K1], 1, store);
    expect(Number(sealed(a).readBigUInt64BE(14) & 0xffffffffn)).toBe(COUNTER_MAX);
    expect(a.seal(ETH)).toBe('seal_exhausted');
  });
});

describe('sequence reservations across restarts', () => {
  it('with a file, a restarted sender continues above everything it used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seal-'));
    dirs.push(dir);
    const path = join(dir, 'seq.json');
    const b = ring(B, [K1]);
    const before = ring(A, [K1], 1, new FileSequenceStore(path));
    for (let i = 0; i < 3; i++) expect(b.open(sealed(before))).toHaveProperty('ethernet');
    expect(readFileSync(path, 'utf8')).not.toContain(K1.key.toString('hex'));
    const after = ring(A, [K1], 1, new FileSequenceStore(path)); // a new process
    const d = sealed(after);
    expect(Number(d.readBigUInt64BE(14) & 0xffffffffn)).toBe(1 + SEQUENCE_BLOCK);
    expect(b.open(d)).toHaveProperty('ethernet');
  });

  it('without one, a restarted sender repeats sequences and peers drop it (why the file exists)', () => {
    const b = ring(B, [K1]);
    const before = ring(A, [K1], 1, new MemorySequenceStore());
    for (let i = 0; i < 3; i++) b.open(sealed(before));
    expect(b.open(sealed(ring(A, [K1], 1, new MemorySequenceStore())))).toBe('seal_replay');
  });

  it('extends the reservation block by block', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seal-'));
    dirs.push(dir);
    const s = new FileSequenceStore(join(dir, 'seq.json'));
    expect(s.begin('x')).toEqual({ next: 1, limit: 1 + SEQUENCE_BLOCK });
    expect(s.extend('x', 1 + SEQUENCE_BLOCK)).toBe(1 + 2 * SEQUENCE_BLOCK);
    expect(new FileSequenceStore(join(dir, 'seq.json')).begin('x')).toEqual({ next: 1 + 2 * SEQUENCE_BLOCK, limit: 1 + 3 * SEQUENCE_BLOCK });
    s.retain(new Set());
    expect(new FileSequenceStore(join(dir, 'seq.json')).begin('x')?.next).toBe(1);
  });
});
