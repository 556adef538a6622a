// Random secrets handed to browsers, automation and agents. Only their
// SHA-256 is stored: a database dump does not let anyone sign in. 32 random
// bytes make guessing hopeless, so a fast hash (not scrypt) is enough here.
import { createHash, randomBytes } from 'node:crypto';
import { ENROLLMENT_TOKEN_PREFIX, HOST_CREDENTIAL_PREFIX } from '../../contract/enroll.ts';

export { ENROLLMENT_TOKEN_PREFIX, HOST_CREDENTIAL_PREFIX };

export const SECRET_BYTES = 32;
/** How many leading characters of an API token are kept to tell tokens apart. */
export const TOKEN_PREFIX_CHARS = 10;

export const API_TOKEN_PREFIX = 'sudc_';

const random = () => randomBytes(SECRET_BYTES).toString('base64url');

/** Session cookie value. */
export const generateSessionToken = (): string => random();
/** Bearer token for automation, acting as its user with the token's role. */
export const generateApiToken = (): string => API_TOKEN_PREFIX + random();
/** Long-lived credential an agent presents after enrollment. */
export const generateHostCredential = (): string => HOST_CREDENTIAL_PREFIX + random();
/** One-time token an agent trades for its host credential. */
export const generateEnrollmentToken = (): string => ENROLLMENT_TOKEN_PREFIX + random();

/** Hex SHA-256: the only form in which a token is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The displayable start of a token (e.g. `sudc_AbCdE`), never enough to use it. */
export function tokenPrefix(token: string): string {
  return token.slice(0, TOKEN_PREFIX_CHARS);
}
