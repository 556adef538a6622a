import { describe, expect, it } from 'vitest';
import { findInFarm } from '../lib/graph/farm-graph.ts';
import { FIREWALL, ROUTER, sampleFarm, VM_1, VNET_A } from '../lib/graph/fixtures.ts';
import { describeDelete, designerKey, nodeKindOf, outline, takenNames } from './designer-helpers.ts';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) => ({
  key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods,
});

describe('designer helpers', () => {
  it('maps keys to actions, and none while typing', () => {
    expect(designerKey(key('z', { ctrlKey: true }), false)).toBe('undo');
    expect(designerKey(key('Z', { ctrlKey: true, shiftKey: true }), false)).toBe('redo');
    expect(designerKey(key('y', { metaKey: true }), false)).toBe('redo');
    expect(designerKey(key('Delete'), false)).toBe('delete');
    expect(designerKey(key('Backspace'), false)).toBe('delete');
    expect(designerKey(key('Escape'), false)).toBe('escape');
    expect(designerKey(key('Delete'), true)).toBeNull();
    expect(designerKey(key('z'), false)).toBeNull();
  });

  it('says what a delete takes with it', () => {
    const farm = sampleFarm();
    expect(describeDelete(farm, findInFarm(farm, VNET_A)!).detail).toBe('3 VIFs and interfaces on it will be removed first.');
    expect(describeDelete(farm, findInFarm(farm, VM_1)!).detail).toBe('Its 1 VIF will be removed too.');
    expect(describeDelete(farm, findInFarm(farm, ROUTER)!).detail).toBe('Its 2 interfaces, 0 static routes and 0 links go with it.');
    expect(describeDelete(farm, findInFarm(farm, FIREWALL)!).title).toBe('Delete firewall fw?');
  });

  it('lists names, kinds and every object', () => {
    const farm = sampleFarm();
    expect(takenNames(farm).sort()).toEqual(['back', 'db', 'front', 'fw', 'gw', 'web']);
    expect(nodeKindOf(farm, ROUTER)).toBe('router');
    expect(nodeKindOf(farm, 'vif-1')).toBeNull();
    expect(outline(farm).map((o) => o.label)).toContain('VIF web/eth0 → front');
    expect(outline(farm)).toHaveLength(6 + 5);
  });
});
