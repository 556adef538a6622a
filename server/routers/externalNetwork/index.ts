import { router } from '../../trpc/init.ts';
import { list } from './list.ts';
import { get } from './get.ts';
import { create } from './create.ts';
import { update } from './update.ts';
import { remove } from './delete.ts';
import { bind } from './bind.ts';
import { unbind } from './unbind.ts';

export const externalNetworkRouter = router({ list, get, create, update, delete: remove, bind, unbind });
