import { z } from 'zod';
import { documentPlanView } from '../../control/controlShapes.ts';
import { farmDocumentSchema } from '../../farms/farmDocument.ts';

/** The farm is the tenant's farm of the document's name. */
export const planDocumentInput = z.strictObject({ document: farmDocumentSchema });
export const planDocumentOutput = documentPlanView;
