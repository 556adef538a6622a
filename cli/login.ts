// `softudc login`: signs in with a user name and password (flags, or asked
// for; the password without echo on a terminal), creates an API token with
// the user's role, signs the session out again and stores URL and token in
// the credentials file (mode 0600, cli/config.ts). The password and the
// token are never printed.
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { createTRPCClient, httpLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../server/routers/_app.ts';
import { allowOnly, stringOption, type Args } from './args.ts';
import { credentialsPath, normalizeUrl, saveCredentials } from './config.ts';
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

export async function login(a: Args): Promise<void> {
  allowOnly(a, ['url', 'user', 'password', 'name']);
  const env = process.env;
  const url = normalizeUrl(stringOption(a, 'url') ?? env.SOFTUDC_URL ?? ((await ask('Console URL [http://127.0.0.1:3000]: ')) || 'http://127.0.0.1:3000'), 'url');
  const username = stringOption(a, 'user') ?? env.SOFTUDC_USER ?? (await ask('User: '));
  const password = stringOption(a, 'password') ?? env.SOFTUDC_PASSWORD ?? (await ask('Password: ', true));
  if (!username || !password) throw new CliError(EXIT.usage, 'a user name and a password are needed');

  let res: Response;
  try {
    res = await fetch(`${url}/api/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { username, password } }),
    });
  } catch {
    throw new CliError(EXIT.error, `the console cannot be reached at ${url}`);
  }
  const body: unknown = await res.json().catch(() => ({}));
  const err = errorOf(body);
  if (err) throw new CliError(err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN' ? EXIT.auth : EXIT.error, `sign-in refused: ${err.message}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';', 1)[0]).join('; ');
  const role = (body as { result?: { data?: { json?: { user?: { role?: string } } } } }).result?.data?.json?.user?.role;
  if (!cookie || (role !== 'admin' && role !== 'operator' && role !== 'viewer')) throw new CliError(EXIT.error, 'the console answered the sign-in without a session');

  const session = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/api/trpc`, transformer: superjson, headers: () => ({ cookie }) })],
  });
  const name = (stringOption(a, 'name') ?? `softudc cli on ${hostname()}`).slice(0, 64);
  try {
    const made = await session.apiToken.create.mutate({ name, role });
    await saveCredentials({ url, token: made.token });
    process.stdout.write(`signed in to ${url} as ${username} (${role}); API token "${name}" stored in ${credentialsPath()}\n`);
  } finally {
    // The token is what the CLI keeps; the session it was made with ends here.
    await session.auth.logout.mutate().catch(() => undefined);
  }
}
