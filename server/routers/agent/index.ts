// agent.* procedures (host credential only): this file only maps names.
import { router } from '../../trpc/init.ts';
import { desired } from './desired.ts';
import { report } from './report.ts';
import { commands } from './commands.ts';
import { commandResult } from './commandResult.ts';

export const agentRouter = router({
  desired,
  report,
  commands,
  commandResult,
});
