import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { get } from './get.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { remove } from './delete.ts';

export const userRouter = router({ list, get, create, update, delete: remove });
