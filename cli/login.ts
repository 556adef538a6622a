// `softudc login`: signs in with a user name and password (the password from
// --password-stdin, SOFTUDC_PASSWORD or asked for without echo; --password
// still works, with a warning), creates an API token with the user's role
// that expires (90 days unless --expires-days), signs the session out again
// and stores URL and token in the credentials file (mode 0600,
// cli/config.ts). Redirects are refused, never followed. The password and
// the token are never printed.
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { createTRPCClient, httpLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../server/routers/_app.ts';
import { allowOnly, intOption, stringOption, type Args } from './args.ts';
import { checkTransport, credentialsPath, insecureAllowed, normalizeUrl, saveCredentials } from './config.ts';
import { CliError, EXIT } from './errors.ts';

/** Lines of standard input when it is not a terminal (answers piped in, in order). */
let piped: AsyncIterator<string> | null = null;

async function ask(question: string, secret = false): Promise<string> {
  if (!process.stdin.isTTY) {
    piped ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    const next = await piped.next();
    if (next.done) throw new CliError(EXIT.usage, `${question.replace(/: $/, '')}: no answer on standard input (give it as a flag)`);
    return next.value.trim();
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (secret) {
    // Echo nothing of what is typed (readline writes each key through _writeToOutput).
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stderr.write(question);
    };
  }
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  if (secret) process.stderr.write('\n');
  return answer.trim();
}

/** The console's error message from a tRPC error body. */
function errorOf(body: unknown): { message: string; code: string } | null {
  const e = (body as { error?: { json?: { message?: string; data?: { code?: string } } } }).error?.json;
  return e ? { message: e.message ?? 'refused', code: e.data?.code ?? '' } : null;
}

/** Days a token made by `login` lives unless --expires-days says otherwise. */
export const DEFAULT_EXPIRES_DAYS = 90;
/** apiToken.create's limit (the console checks it too). */
const MAX_TOKEN_DAYS = 3650;

/** One line of standard input, whether or not it is a terminal (`--password-stdin`). */
async function stdinLine(): Promise<string> {
  piped ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const next = await piped.next();
  if (next.done || !next.value) throw new CliError(EXIT.usage, '--password-stdin: no password on standard input');
  return next.value.replace(/\r$/, '');
}

async function password(a: Args): Promise<string> {
  // Read first, so the password is the first line even when other answers are piped after it.
  if (a.options.get('password-stdin') === true) {
    if (a.options.has('password')) throw new CliError(EXIT.usage, 'give --password-stdin or --password, not both');
    return stdinLine();
  }
  const flag = stringOption(a, 'password');
  if (flag !== undefined) {
    process.stderr.write('warning: --password is visible to other users of this machine (process list); use --password-stdin or SOFTUDC_PASSWORD\n');
    return flag;
  }
  return process.env.SOFTUDC_PASSWORD ?? (await ask('Password: ', true));
}

function expiresDays(a: Args): number {
  const days = intOption(a, 'expires-days') ?? DEFAULT_EXPIRES_DAYS;
  if (days < 1 || days > MAX_TOKEN_DAYS) throw new CliError(EXIT.usage, `--expires-days: from 1 to ${MAX_TOKEN_DAYS} (got ${days})`);
  return days;
}

/** A redirect is refused, never followed: it would resend the password or session elsewhere. */
const noRedirect: typeof fetch = (input, init) => fetch(input, { ...init, redirect: 'error' });

export async function login(a: Args): Promise<void> {
  allowOnly(a, ['url', 'user', 'password', 'password-stdin', 'name', 'expires-days', 'insecure']);
  const env = process.env;
  const days = expiresDays(a);
  const secret = await password(a);
  const url = normalizeUrl(stringOption(a, 'url') ?? env.SOFTUDC_URL ?? ((await ask('Console URL [http://127.0.0.1:3000]: ')) || 'http://127.0.0.1:3000'), 'url');
  checkTransport(url, insecureAllowed({ insecure: a.options.get('insecure') === true }, env));
  const username = stringOption(a, 'user') ?? env.SOFTUDC_USER ?? (await ask('User: '));
  if (!username || !secret) throw new CliError(EXIT.usage, 'a user name and a password are needed');

  let res: Response;
  try {
    res = await noRedirect(`${url}/api/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { username, password: secret } }),
    });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? '';
    if (/redirect/i.test(cause)) throw new CliError(EXIT.error, `${url} answered the sign-in with a redirect: refused (give the console's own URL)`);
    throw new CliError(EXIT.error, `the console cannot be reached at ${url}`);
  }
  if (res.status >= 300 && res.status < 400) throw new CliError(EXIT.error, `${url} answered the sign-in with a redirect: refused (give the console's own URL)`);
  const body: unknown = await res.json().catch(() => ({}));
  const err = errorOf(body);
  if (err) throw new CliError(err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN' ? EXIT.auth : EXIT.error, `sign-in refused: ${err.message}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';', 1)[0]).join('; ');
  const role = (body as { result?: { data?: { json?: { user?: { role?: string } } } } }).result?.data?.json?.user?.role;
  if (!cookie || (role !== 'admin' && role !== 'operator' && role !== 'viewer')) throw new CliError(EXIT.error, 'the console answered the sign-in without a session');

  const session = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/api/trpc`, transformer: superjson, headers: () => ({ cookie }), fetch: noRedirect })],
  });
  const name = (stringOption(a, 'name') ?? `softudc CLI on ${hostname()}`).slice(0, 64);
  try {
    const made = await session.apiToken.create.mutate({ name, role, expiresInDays: days });
    await saveCredentials({ url, token: made.token });
    process.stdout.write(`signed in to ${url} as ${username} (${role}); API token "${name}" (expires in ${days} days) stored in ${credentialsPath()}\n`);
  } finally {
    // The token is what the CLI keeps; the session it was made with ends here.
    await session.auth.logout.mutate().catch(() => undefined);
  }
}
