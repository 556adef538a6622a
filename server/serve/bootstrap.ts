// First start: with no user at all, create tenant `default` and user
// `admin`. The password comes from SOFTUDC_ADMIN_PASSWORD, or is generated
// and printed once; it is never stored in clear nor printed again.
import { consoleConfig } from '../../config/index.ts';
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/index.ts';
import { hashPassword } from '../auth/password.ts';
import { writeAudit } from '../audit/audit.ts';
import { passwordProblem, USER_SELECT } from '../identity/users.ts';

export const DEFAULT_TENANT = 'default';
export const ADMIN_USERNAME = 'admin';
/** Key of the Postgres advisory lock that serializes concurrent first starts. */
const BOOTSTRAP_LOCK_KEY = 0x50f7_0dc1;

export interface EnsureAdminOptions {
  /** Defaults to SOFTUDC_ADMIN_PASSWORD; absent: a password is generated and printed once. */
  password?: string;
  /** Where the one-time notice goes (stdout by default). */
  log?: (text: string) => void;
}

export interface EnsureAdminResult {
  created: boolean;
  /** Whether the password was generated (and therefore printed). */
  generated: boolean;
}

function box(lines: string[]): string {
  const width = Math.max(...lines.map((l) => l.length));
  const edge = `+${'-'.repeat(width + 2)}+`;
  return [edge, ...lines.map((l) => `| ${l.padEnd(width)} |`), edge].join('\n');
}

export async function ensureAdmin(db: Db, opts: EnsureAdminOptions = {}): Promise<EnsureAdminResult> {
  const log = opts.log ?? ((text: string) => process.stdout.write(text + '\n'));
  // Cheap check first, so an ordinary start does not hash anything.
  if ((await db.user.count()) > 0) return { created: false, generated: false };

  const given = opts.password ?? consoleConfig().SOFTUDC_ADMIN_PASSWORD;
  const supplied = given !== undefined && given !== '';
  const problem = supplied ? passwordProblem(given) : null;
  if (problem) throw new Error(`SOFTUDC_ADMIN_PASSWORD ${problem}`);
  const password = supplied ? given : randomBytes(18).toString('base64url');
  const passwordHash = await hashPassword(password);

  const created = await db.$transaction(async (tx) => {
    // Two consoles starting together on one database: the second waits here,
    // then sees the first one's admin and does nothing.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY}::bigint)`;
    if ((await tx.user.count()) > 0) return false;
    const tenant = await tx.tenant.upsert({
      where: { name: DEFAULT_TENANT },
      create: { name: DEFAULT_TENANT },
      update: {},
      select: { id: true },
    });
    const user = await tx.user.create({
      data: { tenantId: tenant.id, username: ADMIN_USERNAME, role: 'admin', displayName: 'Administrator', passwordHash },
      select: USER_SELECT,
    });
    await writeAudit(tx, { actor: 'system', tenantId: tenant.id, action: 'user.create', entity: 'user', entityId: user.id, after: user });
    return true;
  });
  if (!created) return { created: false, generated: false };

  if (supplied) {
    log(`first start: created user "${ADMIN_USERNAME}" (role admin) with the password from SOFTUDC_ADMIN_PASSWORD`);
  } else {
    log(
      box([
        'first start: admin password (shown only this once)',
        `  username: ${ADMIN_USERNAME}`,
        `  password: ${password}`,
        'sign in and change it, or set SOFTUDC_ADMIN_PASSWORD before the first start',
      ]),
    );
  }
  return { created: true, generated: !supplied };
}
