import { router } from '../../trpc/init.ts';
import { create } from './create.ts';
import { remove } from './delete.ts';

export const floatingIpRouter = router({ create, delete: remove });
