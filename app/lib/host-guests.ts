// What a host's agent says it can run (HostView.capabilities, `guest:<kind>`),
// for the hosts table and the designer's host choice. The API decides; this
// only explains ahead of time (docs/api.md "Host capabilities").

/** The guest kinds a host declared, or null when it declared none yet (not enrolled, older agent). */
export function guestKinds(capabilities: readonly string[]): string[] | null {
  const kinds = capabilities.filter((c) => c.startsWith('guest:')).map((c) => c.slice('guest:'.length));
  return kinds.length ? kinds : null;
}

/** False when the host declared guest kinds without `kind`; true when it has it or declared none (unknown). */
export function canRunGuest(capabilities: readonly string[], kind: string): boolean {
  const kinds = guestKinds(capabilities);
  return kinds === null || kinds.includes(kind);
}

export function guestKindsText(capabilities: readonly string[]): string {
  return guestKinds(capabilities)?.join(', ') ?? 'not declared yet';
}
