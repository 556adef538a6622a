import { router } from '../../trpc/init.ts';
import { login } from './login.ts';
import { logout } from './logout.ts';
import { me } from './me.ts';
import { changePassword } from './changePassword.ts';

export const authRouter = router({ login, logout, me, changePassword });
