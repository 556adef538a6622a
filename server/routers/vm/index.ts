// vm.* procedures: this file only maps names (one procedure per file beside it).
import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { get } from './get.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { del } from './delete.ts';
import { migrate } from './migrate.ts';
import { cancelMigration } from './cancelMigration.ts';
import { retryMigration } from './retryMigration.ts';

export const vmRouter = router({
  list,
  get,
  create,
  update,
  delete: del,
  migrate,
  cancelMigration,
  retryMigration,
});
