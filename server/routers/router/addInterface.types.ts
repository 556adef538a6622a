import { z } from 'zod';
import { expectedRevisionInput, idInput, mutationOf, routerInterfaceView } from '../../farms/farmShapes.ts';
import { routerInterfaceSpec } from './interface.types.ts';

export const addInterfaceInput = z.strictObject({ routerId: idInput, expectedRevision: expectedRevisionInput, ...routerInterfaceSpec });
export const addInterfaceOutput = mutationOf('interface', routerInterfaceView);
