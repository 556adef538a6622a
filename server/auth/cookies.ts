// The session cookie. httpOnly keeps it from scripts; SameSite=Lax stops it
// from riding on cross-site POSTs (the API's mutations); Secure whenever the
// request came over HTTPS.
import { consoleConfig } from '../../config/index.ts';

export const SESSION_COOKIE = 'softudc_session';

/** Session lifetime from `SOFTUDC_SESSION_HOURS` (default 12 h, at most 30 days: config/variables.ts). */
export function sessionLifetimeMs(env: Record<string, string | undefined> = process.env): number {
  return Math.round(consoleConfig(env).SOFTUDC_SESSION_HOURS * 3600_000);
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
