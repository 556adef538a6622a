#!/usr/bin/env node
// Entry point of the `softudc` bin (the automation CLI, cli/): TypeScript run
// through tsx's loader, like the agent's bin.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../cli/main.ts', import.meta.url).href);
