import { z } from 'zod';
import { parseWith } from '../../domain/validation.ts';

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
