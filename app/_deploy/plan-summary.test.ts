import { describe, expect, it } from 'vitest';
import { planSummary } from './plan-summary.ts';

const hosts = (n: number) => Array.from({ length: n }, () => ({}) as never);

describe('planSummary', () => {
  it('says what a deploy would change, in plain words', () => {
    expect(planSummary({ deployedRevision: null, hosts: hosts(3), unchangedHosts: 0 })).toBe('Not deployed yet. 3 hosts would change.');
    expect(planSummary({ deployedRevision: 4, hosts: hosts(1), unchangedHosts: 1 })).toBe('Deployed: revision 4. 1 host would change; 1 host stays as it is.');
    expect(planSummary({ deployedRevision: 4, hosts: [], unchangedHosts: 3 })).toBe('Deployed: revision 4. Deploying changes no host; 3 hosts stay as they are.');
  });
});
