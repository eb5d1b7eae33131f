import { z } from 'zod';
import { parseWith } from '../../domain/shared/index.ts';
import { idSchemas } from './edge/ids.ts';

/** Step Functions task input is untrusted JSON too: validate it where it enters. */
export function taskInput<S extends z.ZodType>(schema: S, event: unknown): z.infer<S> {
  return parseWith(schema, event, 'task input');
}

/** Ids in task input: the edge's schemas (functions/shared/edge/ids.ts), from the domain's id formats. */
export const ids = {
  incidentId: idSchemas.incidentId,
  runId: idSchemas.runId,
  machineId: idSchemas.machineId,
  approvalId: idSchemas.approvalId,
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
