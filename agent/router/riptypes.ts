// RIPv2 configuration and views (RFC 2453 3.8 timer defaults).

export interface RipTimers {
  updateMs: number;
  /** Periodic updates fall uniformly in updateMs × (1 ± jitter). */
  jitter: number;
  timeoutMs: number;
  garbageMs: number;
  triggerMinMs: number;
  triggerMaxMs: number;
}

export const RIP_DEFAULTS: Readonly<RipTimers> = {
  updateMs: 30_000,
  jitter: 1 / 6,
  timeoutMs: 180_000,
  garbageMs: 120_000,
  triggerMinMs: 1_000,
  triggerMaxMs: 5_000,
};

/** A route the router originates itself (connected or static), as RIP advertises it. */
export interface LocalRoute {
  prefix: number;
  len: number;
  metric: number;
  /** The interface its next hop is on (split horizon), or null for connected routes. */
  iface: string | null;
}

export interface RipRouteView {
  prefix: number;
  len: number;
  nextHop: number;
  iface: string;
  metric: number;
  /** Counting down to garbage collection (metric 16). */
  garbage: boolean;
  ageMs: number;
}
