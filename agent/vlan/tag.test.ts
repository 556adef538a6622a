import { describe, expect, it } from 'vitest';
import { addVlanTag, stripVlanTag, vlanIdOf } from './tag.ts';

const FRAME = Buffer.from('ffffffffffff' + '0a0000000099' + '0806' + 'deadbeef', 'hex');

describe('802.1Q tags', () => {
  it('inserts a tag after the MAC addresses and takes it out again', () => {
    const tagged = addVlanTag(FRAME, 300);
    expect(tagged.toString('hex')).toBe('ffffffffffff' + '0a0000000099' + '8100' + '012c' + '0806' + 'deadbeef');
    expect(vlanIdOf(tagged)).toBe(300);
    expect(stripVlanTag(tagged)).toEqual(FRAME);
  });

  it('reads the VID under the priority bits and refuses untagged or short frames', () => {
    const tagged = addVlanTag(FRAME, 4094);
    tagged.writeUInt16BE(0xe000 | 4094, 14); // PCP 7
    expect(vlanIdOf(tagged)).toBe(4094);
    expect(vlanIdOf(FRAME)).toBe(-1);
    expect(vlanIdOf(tagged.subarray(0, 17))).toBe(-1);
  });
});
