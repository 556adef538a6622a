// The one structured logger of the console and the agent: pino, one JSON
// object per line on stderr (`{"level","time",…fields,"msg"}`), so an
// operator can pipe either into jq or a log shipper. Secrets never reach a
// line: fields named like one (token, password, key, cookie, …, up to three
// levels deep) are replaced by "[redacted]", and anything in the message or a
// text field shaped like a token, a password hash or a password inside a
// database URL is masked. Level from SOFTUDC_LOG_LEVEL (config/variables.ts).
import pino from 'pino';
import { sharedConfig, type LogLevel } from '../config/index.ts';

export { LOG_LEVELS, type LogLevel } from '../config/index.ts';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
  readonly level: LogLevel;
}

export function isLogLevel(v: unknown): v is LogLevel {
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error';
}

/** Field names whose values are secrets, whatever they hold. */
export const SECRET_FIELDS = [
  'token', 'tokens', 'password', 'passwd', 'secret', 'key', 'keys', 'privateKey', 'apiKey', 'credential', 'credentials',
  'cookie', 'cookies', 'authorization', 'passwordHash', 'sessionToken', 'enrollToken', 'enrollmentToken', 'hostCredential',
];
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

const SECRET_PATTERNS: RegExp[] = [
  /\bsud[che]_[A-Za-z0-9_-]+/g, // API tokens, host credentials, enrollment tokens
  /\bscrypt\$[^\s"'`,}]+/g, // password hashes
  /\b[0-9a-f]{64}\b/gi, // SHA-256 of tokens
  /(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi, // passwords inside database URLs
];

/** Masks what looks like a secret in free text (driver errors sometimes quote values). */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const re of SECRET_PATTERNS) {
    out = out.replace(re, (match, userPart?: unknown) =>
      typeof userPart === 'string' && match.startsWith(userPart) ? `${userPart}[redacted]@` : '[redacted]',
    );
  }
  return out;
}

/** Errors keep their name, message and code; text is scrubbed; bigints become text. */
function plain(value: unknown): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    return { name: value.name, message: scrubSecrets(value.message), code: (value as { code?: unknown }).code };
  }
  return value;
}

function prepare(fields: LogFields | undefined): LogFields {
  const out: LogFields = {};
  if (fields) for (const [k, v] of Object.entries(fields)) out[k] = plain(v);
  return out;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr by default (stdout stays free for command output). */
  write?: (line: string) => void;
  fields?: LogFields;
}

/** The level named by SOFTUDC_LOG_LEVEL (default info). */
export function envLogLevel(): LogLevel {
  return sharedConfig().SOFTUDC_LOG_LEVEL;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? envLogLevel();
  const destination = opts.write ? { write: opts.write } : pino.destination({ fd: 2, sync: true });
  const base = pino(
    {
      level,
      base: null,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
  return wrap(opts.fields && Object.keys(opts.fields).length ? base.child(prepare(opts.fields)) : base, level);
}

function wrap(p: pino.Logger, level: LogLevel): Logger {
  const emit = (lvl: LogLevel) => (msg: string, fields?: LogFields) => {
    if (p.isLevelEnabled(lvl)) p[lvl](prepare(fields), scrubSecrets(msg));
  };
  return {
    level,
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => wrap(p.child(prepare(fields)), level),
  };
}

/** A logger that discards everything (tests, embedding). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {} });

let consoleLog: Logger | undefined;
/** The console process's logger (created on first use). */
export function consoleLogger(): Logger {
  consoleLog ??= createLogger({ fields: { component: 'console' } });
  return consoleLog;
}
