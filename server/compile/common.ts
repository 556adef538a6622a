// What every compile step shares: its error, ordering, prefixes, TAP device names.
export class CompileError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function prefixOf(cidr: string): number {
  const len = Number(cidr.split('/')[1]);
  if (!Number.isInteger(len)) throw new CompileError('cidr', `not a CIDR: ${cidr}`);
  return len;
}

/**
 * A TAP guest's device on its host: `sdv` and its VIF's number (a database
 * sequence, so unique in the deployment). At most 13 characters; the agent's
 * VLAN devices (`sdvb<vnet>`, `sdvt<vnet>`) have a letter after `sdv`.
 */
export const tapDeviceName = (serial: number): string => `sdv${serial}`;
