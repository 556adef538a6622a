// Structured JSON-lines logger: one object per line on stderr, so an operator
// can pipe the agent into jq or a log shipper. Level from SOFTUDC_LOG_LEVEL
// (or --log-level). Never pass secrets in fields: nothing here redacts them.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
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

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr by default (stdout stays free for command output). */
  write?: (line: string) => void;
  fields?: LogFields;
}

/** The level named by SOFTUDC_LOG_LEVEL, or `fallback` when unset or unknown. */
export function envLogLevel(fallback: LogLevel = 'info'): LogLevel {
  const v = process.env.SOFTUDC_LOG_LEVEL?.toLowerCase();
  return isLogLevel(v) ? v : fallback;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? envLogLevel();
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  return make(level, write, opts.fields ?? {});
}

function make(level: LogLevel, write: (line: string) => void, base: LogFields): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    const line = { time: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
    let text: string;
    try {
      text = JSON.stringify(line, replacer);
    } catch {
      // Circular or otherwise unserialisable fields must not lose the message.
      text = JSON.stringify({ time: line.time, level: lvl, msg, fieldsError: 'unserialisable fields' });
    }
    write(text + '\n');
  };
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => make(level, write, { ...base, ...fields }),
  };
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** A logger that discards everything (tests, embedding). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {} });
