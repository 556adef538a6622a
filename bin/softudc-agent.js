#!/usr/bin/env node
// Entry point of the `softudc-agent` bin: the agent is TypeScript, run through
// tsx's loader so the same sources serve the CLI, the tests and the console.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../agent/cli/cli.ts', import.meta.url).href);
