import { router } from '../../trpc/init.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { remove } from './delete.ts';

export const externalLegRouter = router({ create, update, delete: remove });
