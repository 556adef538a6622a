import { commandResultInput as input, commandResultOutput as output } from '../../services/agentCommandShapes.ts';

export const commandResultInput = input;
export const commandResultOutput = output;
