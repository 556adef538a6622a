import { z } from 'zod';
import { expectedRevisionInput, firewallInterfaceView, idInput, mutationOf } from '../../farms/farmShapes.ts';
import { firewallInterfaceSpec } from './interface.types.ts';

export const addInterfaceInput = z.strictObject({ firewallId: idInput, expectedRevision: expectedRevisionInput, ...firewallInterfaceSpec });
export const addInterfaceOutput = mutationOf('interface', firewallInterfaceView);
