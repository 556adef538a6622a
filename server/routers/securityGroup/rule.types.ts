// The input pieces of a security rule, shared by create, addRule and updateRule.
import { z } from 'zod';
import { addressInput, idInput, securityDirectionInput, securityProtocolInput } from '../../farms/farmShapes.ts';
import { int32, text } from '../../../contract/primitives.ts';
import { SG_MAX_RULES } from '../../../contract/limits.ts';

/** Ranges are checked by the service, which names the field and says what is wrong. */
export const ruleFields = {
  direction: securityDirectionInput,
  protocol: securityProtocolInput.optional(),
  portFrom: int32().nullable().optional(),
  portTo: int32().nullable().optional(),
  icmpType: int32().nullable().optional(),
  icmpCode: int32().nullable().optional(),
  /** The other end as a CIDR; with neither this nor remoteGroupId: anywhere. */
  remoteCidr: addressInput.nullable().optional(),
  /** The other end as the members of a group of the same farm. */
  remoteGroupId: idInput.nullable().optional(),
  description: text(200).optional(),
};

export const securityRuleInput = z.strictObject(ruleFields);
export const RULES_MAX = SG_MAX_RULES;
