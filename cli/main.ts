// `softudc`: the console's automation CLI (docs/cli.md). Parses the command
// line, finds the connection (cli/config.ts), runs one command and exits
// with its code (cli/errors.ts EXIT); a failure prints one message on
// standard error, naming the field when the console named one.
import { parseArgs, type Args } from './args.ts';
import { apiClient, type Api } from './api.ts';
import { apply, deploy, farmExport, farmGet, farmImport, farmList, hosts, plan } from './commands.ts';
import { loadConnection } from './config.ts';
import { CliError, EXIT, toCliError } from './errors.ts';
import { login } from './login.ts';
import { trace } from './trace.ts';

const USAGE = `usage: softudc <command> [options]

  login [--url URL] [--user NAME] [--password-stdin] [--name TOKEN-NAME] [--expires-days N]
                              sign in, store an API token (mode 0600, 90 days) for the next commands
  farm list [--json]          the farms of your tenant
  farm get FARM [--json]      one farm (by name or id)
  farm export FARM [--output FILE]
                              the farm as a document (JSON)
  farm import FILE [--name NAME] [--json]
                              a new farm from a document
  plan FILE [--json]          what applying the document would change, in the model and on hosts
  apply FILE [--deploy] [--wait[=TIMEOUT]] [--expected-revision N] [--json]
                              make the farm what the document says (created if new); with
                              --deploy deploy it, with --wait until every host applied it
  deploy FARM [--wait[=TIMEOUT]] [--expected-revision N] [--json]
                              deploy the farm's current revision
  hosts [--json]              the hosts, their status and applied generations
  trace FARM FROM TO [--tcp PORT|--udp PORT|--icmp] [--live] [--json]
                              the hop-by-hop path of a flow of the deployed farm and what
                              decides it; FROM is VM, VM/IFNAME, a VIF id or external:ADDRESS;
                              --live also asks the agents on the path

The console and token come from SOFTUDC_URL and SOFTUDC_TOKEN when set, else from
\`softudc login\` (its token only ever goes to the URL it was made for; --url or
SOFTUDC_URL naming another console is refused). Plain http:// is refused to anything
but this machine unless --insecure (or SOFTUDC_INSECURE=1) is given. FILE may be - (standard input). TIMEOUT: 90, 90s, 2m (default 60s).
Exit codes: 0 ok, 1 error, 2 usage, 3 invalid file or input, 4 conflict, 5 not signed
in or not allowed, 6 not found, 7 a host cannot apply, 8 timed out, 9 a traced flow is
dropped (docs/cli.md).`;

type Command = (api: Api, a: Args) => Promise<void>;

const FARM: Record<string, Command> = { list: farmList, get: farmGet, export: farmExport, import: farmImport };
const TOP: Record<string, Command> = { plan, apply, deploy, hosts, trace };

async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const [cmd, ...rest] = args.words;
  if (!cmd || args.options.get('help') === true || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    if (!cmd && args.options.get('help') !== true) throw new CliError(EXIT.usage, 'no command given');
    return;
  }
  if (cmd === 'login') return login({ ...args, words: rest });
  let command: Command | undefined;
  let words = rest;
  if (cmd === 'farm') {
    const [sub, ...more] = rest;
    command = sub ? FARM[sub] : undefined;
    if (!command) throw new CliError(EXIT.usage, `farm ${sub ?? ''}: expected one of ${Object.keys(FARM).join(', ')}`.replace('farm : ', 'farm: '));
    words = more;
  } else command = TOP[cmd];
  if (!command) throw new CliError(EXIT.usage, `unknown command "${cmd}" (softudc --help lists them)`);
  // --url and --insecure choose the connection for every command; the command sees the rest.
  const options = new Map(args.options);
  const url = options.get('url');
  if (url === true) throw new CliError(EXIT.usage, '--url needs a value');
  const insecure = options.get('insecure') === true;
  options.delete('url');
  options.delete('insecure');
  const api = apiClient(await loadConnection({ url, insecure }));
  await command(api, { words, options });
}

try {
  await run(process.argv.slice(2));
  process.exitCode ??= EXIT.ok;
} catch (err) {
  const e = toCliError(err);
  process.stderr.write(`softudc: ${e.message}\n`);
  process.exitCode = e.exitCode;
}
// An open progress stream or keep-alive socket must not hold the process past its answer.
setTimeout(() => process.exit(), 100).unref();
