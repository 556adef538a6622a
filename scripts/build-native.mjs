// Builds agent/native (the TAP frame I/O addon) with node-gyp.
//
// node-gyp comes from npm itself (every npm bundles one), so the package needs
// no extra dependency. Node's headers come from the local installation when
// it ships them (/usr/include/node on Debian-style installs and on official
// tarballs under <prefix>/include/node): node-gyp would otherwise try to
// download a header tarball, which a machine without general network access
// cannot do.
//
// Usage: node scripts/build-native.mjs [--force] [--quiet]
// Exit code 0 when the addon is built (or already up to date). On failure it
// exits 1 when SOFTUDC_REQUIRE_ALL=1 or --strict is given, and otherwise warns
// and exits 0: the agent still runs emulated guests without the addon, and
// agent/native/index.ts explains what is missing when a TAP guest needs it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'agent', 'native');
const output = join(nativeDir, 'build', 'Release', 'softudc_tap.node');
const args = new Set(process.argv.slice(2));
const strict = args.has('--strict') || process.env.SOFTUDC_REQUIRE_ALL === '1';
const quiet = args.has('--quiet');

function log(msg) {
  if (!quiet) console.log(`build-native: ${msg}`);
}

function fail(msg) {
  console.error(`build-native: ${msg}`);
  if (strict) process.exit(1);
  console.error('build-native: continuing without the TAP addon (TAP guests will be unavailable)');
  process.exit(0);
}

if (process.platform !== 'linux') {
  log(`skipped: TAP guests need Linux (this is ${process.platform})`);
  process.exit(0);
}

function upToDate() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  const sources = readdirSync(nativeDir).filter((f) => /\.(c|h|gyp)$/.test(f));
  return sources.every((f) => statSync(join(nativeDir, f)).mtimeMs <= built);
}

if (!args.has('--force') && upToDate()) {
  log('up to date');
  process.exit(0);
}

/** npm's bundled node-gyp, whichever way this script was started. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const require = createRequire(import.meta.url);
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a dependency of this package: fall through to npm's copy
  }
  if (process.env.npm_execpath) {
    // .../npm/bin/npm-cli.js → .../npm/node_modules/node-gyp
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push('/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  candidates.push('/usr/share/nodejs/node-gyp/bin/node-gyp.js');
  return candidates.find((c) => c && existsSync(c));
}

/** A local Node installation whose headers match the running node, if any. */
function findNodeDir() {
  const prefixes = [resolve(dirname(process.execPath), '..'), '/usr', '/usr/local'];
  for (const prefix of prefixes) {
    const inc = join(prefix, 'include', 'node');
    if (!existsSync(join(inc, 'node_api.h')) || !existsSync(join(inc, 'common.gypi'))) continue;
    try {
      const h = readFileSync(join(inc, 'node_version.h'), 'utf8');
      const v = ['MAJOR', 'MINOR', 'PATCH'].map((p) => h.match(new RegExp(`#define NODE_${p}_VERSION (\\d+)`))?.[1]);
      if (v.join('.') === process.versions.node) return prefix;
    } catch {
      // unreadable version header: try the next prefix
    }
  }
  return undefined;
}

const gyp = findNodeGyp();
if (!gyp) fail('node-gyp not found (looked at $npm_config_node_gyp, node_modules and npm\'s bundled copy)');
const gypArgs = [gyp, 'rebuild', '--loglevel=error'];
const nodedir = findNodeDir();
if (nodedir) gypArgs.push(`--nodedir=${nodedir}`);
else log('no local Node headers matching this node: node-gyp will fetch them');

log(`building ${output.slice(root.length + 1)} (node-gyp ${gyp}${nodedir ? `, headers from ${nodedir}` : ''})`);
// The compiler's chatter is shown only when the build fails.
const r = spawnSync(process.execPath, gypArgs, {
  cwd: nativeDir,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
  maxBuffer: 16 << 20,
  env: { ...process.env, npm_config_nodedir: nodedir ?? process.env.npm_config_nodedir },
});
if (r.status !== 0 || !existsSync(output)) {
  process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  fail(`node-gyp failed (exit ${r.status ?? r.signal}); a C compiler, make and python3 are needed (Debian: g++ make python3)`);
}
log('ok');
