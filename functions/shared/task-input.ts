import { z } from 'zod';
import { parseWith } from '../../domain/shared/index.ts';

/** Step Functions task input is untrusted JSON too: validate it where it enters. */
export function taskInput<S extends z.ZodType>(schema: S, event: unknown): z.infer<S> {
  return parseWith(schema, event, 'task input');
}

export const ids = {
  incidentId: z.string().regex(/^inc-[0-9a-f]{20}$/, 'must be an incident id like inc-0123456789abcdef0123'),
  runId: z.string().min(1).max(80).regex(/^[A-Za-z0-9_-]+$/, 'must be a run id'),
  machineId: z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a machine id'),
  approvalId: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'must be an approval id'),
  kind: z.enum(['incident', 'drill', 'failback']),
  mode: z.enum(['recovery', 'test']),
};

/**
 * What a Step Functions Catch hands to the next state (`{ Error, Cause }`), or a plain message.
 * Not length-limited here (a Cause can carry a child execution's whole output, and refusing it
 * would lose the outcome); describeCaught bounds what is kept.
 */
export const caughtError = z.union([z.string(), z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() })]);

/** One line for the audit trail: `Error: Cause`, at most 2,000 characters. */
export function describeCaught(error: z.infer<typeof caughtError> | undefined): string | undefined {
  if (error === undefined) return undefined;
  const text = typeof error === 'string' ? error : `${error.Error ?? 'Error'}: ${error.Cause ?? ''}`;
  return text.slice(0, 2000);
}
