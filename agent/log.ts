// The agent logs through the project's one logger (log/index.ts: pino, with
// redaction of secrets); this module keeps the agent's imports short.
export { createLogger, envLogLevel, isLogLevel, LOG_LEVELS, silentLogger, type LogFields, type Logger, type LoggerOptions, type LogLevel } from '../log/index.ts';
