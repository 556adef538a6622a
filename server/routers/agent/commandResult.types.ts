import { commandResultAnswerSchema, commandResultSchema } from '../../../contract/commands.ts';

export const commandResultInput = commandResultSchema;
export const commandResultOutput = commandResultAnswerSchema;
