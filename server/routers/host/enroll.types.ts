import { enrollAnswerSchema, enrollRequestSchema } from '../../../contract/enroll.ts';

/** The agent's side of enrollment is the contract's (contract/enroll.ts). */
export const enrollInput = enrollRequestSchema;
/** `credential` is shown here once: the agent keeps it and sends `Authorization: Bearer <credential>`. */
export const enrollOutput = enrollAnswerSchema;
