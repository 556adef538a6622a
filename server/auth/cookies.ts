// The session cookie. httpOnly keeps it from scripts; SameSite=Lax stops it
// from riding on cross-site POSTs (the API's mutations); Secure whenever the
// request came over HTTPS.
export const SESSION_COOKIE = 'softudc_session';
export const DEFAULT_SESSION_HOURS = 12;
/** A session longer than 30 days is a configuration mistake, not a wish. */
const MAX_SESSION_HOURS = 24 * 30;

/** Session lifetime from `SOFTUDC_SESSION_HOURS` (default 12 h). */
export function sessionLifetimeMs(env: Record<string, string | undefined> = process.env): number {
  const raw = env.SOFTUDC_SESSION_HOURS;
  const hours = raw === undefined || raw.trim() === '' ? DEFAULT_SESSION_HOURS : Number(raw);
  if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_SESSION_HOURS) {
    throw new Error(`SOFTUDC_SESSION_HOURS must be a number of hours between 0 and ${MAX_SESSION_HOURS} (got "${raw}")`);
  }
  return Math.round(hours * 3600_000);
}

export interface CookieOptions {
  secure: boolean;
  maxAgeSeconds: number;
}

export function serializeSessionCookie(value: string, opts: CookieOptions): string {
  const parts = [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`,
  ];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Tells the browser to forget the session cookie. */
export function clearSessionCookie(secure: boolean): string {
  return serializeSessionCookie('', { secure, maxAgeSeconds: 0 }) + '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
}

/** The session cookie's value from a `Cookie` request header, or null. */
export function readSessionCookie(header: string | null | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return value === '' ? null : value;
  }
  return null;
}
