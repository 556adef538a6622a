// The console link of a managed agent (see managed.ts for the command line).
export { Backoff, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, type BackoffOptions } from './backoff.ts';
export { API_PATH, createConsoleClient, describeError, errorCode, normaliseConsoleUrl, ConsoleUrlError, type ConsoleClient } from './client.ts';
export { agentCapabilities, agentVersion, enroll, ensureCredential, EnrollError, ENROLLMENT_TOKEN_PREFIX } from './enroll.ts';
export { CommandChannel, type CommandChannelEvents, type CommandChannelOptions } from './commands.ts';
export { CommandError, executeCommand, type CommandNodes, type CommandOutput } from './execute.ts';
export { ControlLink, DEFAULT_REPORT_INTERVAL_MS, desiredMessageSchema, type ApplyTarget, type ControlLinkEvents, type ControlLinkOptions, type DesiredMessage } from './link.ts';
export { managedOptions, runManaged, wantsManaged, UsageError, type ManagedOptions } from './managed.ts';
export { buildReport, type AgentReport, type ApplyFailure } from './report.ts';
export {
  CREDENTIAL_FILE, defaultStateDir, readCredential, readPersistedState, STATE_FILE, StoreError, writeCredential, writeFileAtomic, writePersistedState,
  type PersistedState, type StoredCredential,
} from './store.ts';
