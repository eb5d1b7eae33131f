/**
 * What an SSM Parameter Store value can hold (Systems Manager API Reference, PutParameter:
 * "Standard parameters have a value limit of 4 KB. Advanced parameters have a value limit of
 * 8 KB"; a larger Standard value is refused with "Standard tier parameters support a maximum
 * parameter value of 4096 characters"). On AWS the inventory and the policy are parameters
 * (INVENTORY_SOURCE / POLICY_SOURCE, docs/deploy.md); locally they are files, so whatever
 * reads such a file as "the inventory" (the local runtime, `npm start`, the CLI commands that
 * validate one) refuses a file no parameter could hold, and says when it needs the Advanced tier.
 *
 * Sizes are UTF-8 bytes: AWS's message speaks of characters, its documentation of KB; bytes are
 * never fewer than characters, so a file accepted here fits either way.
 */

/** 4 KB, in bytes: the Standard tier. */
export const STANDARD_PARAMETER_BYTES = 4 * 1024;
/** 8 KB, in bytes: the Advanced tier, the largest value a parameter holds. */
export const ADVANCED_PARAMETER_BYTES = 8 * 1024;

export type ParameterDocument = 'inventory' | 'policy';
export type ParameterTier = 'Standard' | 'Advanced';

export const parameterBytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** The cheapest tier that holds this value, or null when none does. */
export function parameterTier(text: string): ParameterTier | null {
  const bytes = parameterBytes(text);
  if (bytes <= STANDARD_PARAMETER_BYTES) return 'Standard';
  return bytes <= ADVANCED_PARAMETER_BYTES ? 'Advanced' : null;
}

/** Why this text cannot be the inventory (or policy) of a deployment, or undefined when it can. */
export function oversizeReason(what: ParameterDocument, text: string): string | undefined {
  if (parameterTier(text) !== null) return undefined;
  return `the ${what} is ${parameterBytes(text)} bytes, more than the ${ADVANCED_PARAMETER_BYTES} bytes (8 KB, Advanced tier) `
    + `an SSM parameter holds, so it cannot be deployed as /cleanpoint/<stage>/${what}. Make it smaller: drop comments and blank `
    + 'lines, use YAML flow style ({ ... }) or compact JSON (JSON is YAML too), shorten descriptions.';
}

/** The same, naming the file. */
export function parameterSizeRefusal(what: ParameterDocument, file: string, text: string): string | undefined {
  const reason = oversizeReason(what, text);
  return reason && `${file}: ${reason}`;
}

/** A note when the file fits only the Advanced tier (over 4 KB), else undefined. */
export function parameterTierNote(what: ParameterDocument, file: string, text: string): string | undefined {
  if (parameterTier(text) !== 'Advanced') return undefined;
  return `${file}: the ${what} is ${parameterBytes(text)} bytes, over the ${STANDARD_PARAMETER_BYTES} bytes of a Standard SSM parameter: `
    + `store it with --tier Advanced (docs/deploy.md; at most ${ADVANCED_PARAMETER_BYTES} bytes).`;
}
