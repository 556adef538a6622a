// Captures of the underlay taken on a sending host hold UDP GSO batches as
// one payload: splitGso cuts them back into the datagrams of docs/wire.md.
import { describe, expect, it } from 'vitest';
import { splitGso } from './overlay-fixture.ts';
import { VARP_REQUEST, encodeFrame, encodeVarp } from '../agent/wire/index.ts';

const frame = (vnet: number, size: number, fill: number) => {
  const eth = Buffer.alloc(size - 10, fill);
  eth.writeUInt16BE(0x0800, 12);
  return encodeFrame({ vnet, ethernet: eth });
};
const varp = (nonce: number, key?: Buffer) => encodeVarp({ opcode: VARP_REQUEST, vnet: 7, mac: 0x025d00000001, flags: 0, ip: 0, coa: 1, nonce, version: 0 }, key);

describe('splitGso', () => {
  it('leaves a single datagram alone', () => {
    const f = frame(100, 136, 0xab);
    expect(splitGso(f)).toEqual([f]);
    expect(splitGso(varp(1))).toEqual([varp(1)]);
  });

  it('cuts a batch of FRAMEs, the last one shorter', () => {
    const parts = [frame(100, 136, 1), frame(100, 136, 2), frame(100, 90, 3)];
    expect(splitGso(Buffer.concat(parts))).toEqual(parts);
  });

  it('cuts a batch of VARP messages, signed or not', () => {
    const key = Buffer.alloc(32, 7);
    expect(splitGso(Buffer.concat([varp(1), varp(2)]))).toEqual([varp(1), varp(2)]);
    expect(splitGso(Buffer.concat([varp(1, key), varp(2, key), varp(3, key)]))).toEqual([varp(1, key), varp(2, key), varp(3, key)]);
  });

  it('does not cut where the next piece is not a FRAME of the same vnet', () => {
    const odd = Buffer.concat([frame(100, 136, 1), frame(101, 136, 2)]);
    expect(splitGso(odd)).toEqual([odd]);
  });
});
