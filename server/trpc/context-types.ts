import type { Db } from '../db/index.ts';
import type { HostActor, UserActor } from '../auth/actors.ts';

export interface Context {
  db: Db;
  actor: UserActor | HostActor | null;
  /** Response headers (Set-Cookie on login/logout); absent for createCaller. */
  resHeaders?: Headers;
  /** Client address, for audit and rate limiting. */
  clientIp?: string;
  /** Whether the request came over HTTPS (decides the cookie's Secure flag). */
  secure?: boolean;
}
