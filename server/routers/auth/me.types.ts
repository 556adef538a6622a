import { meView } from '../../services/identityShapes.ts';

export const meOutput = meView;
