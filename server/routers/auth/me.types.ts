import { meView } from '../../identity/identityShapes.ts';

export const meOutput = meView;
