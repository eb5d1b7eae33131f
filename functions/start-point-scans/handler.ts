import { z } from 'zod';
import { startPointScans, type PointScanDeps } from '../../domain/recovery-points/index.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composeScanDeps } from '../shared/scan-wiring.ts';
import { ids, taskInput } from '../shared/task-input.ts';

const input = z.strictObject({ incidentId: ids.incidentId });

/**
 * Step Functions task `Scan Chosen Points`: start a GuardDuty malware scan of every chosen point
 * whose group's policy asks for one; returns `{ done, waitSeconds, ready, … }` for the poll loop.
 */
export function makeHandler(load: () => Promise<PointScanDeps>) {
  return async (event: unknown) => {
    const result = await startPointScans(await load())(taskInput(input, event));
    logger.info('point scans started', { incidentId: result.incidentId, pending: result.scans.pending, done: result.done });
    return result;
  };
}

/** The dependencies from the function's environment (shared with the other scan function: scan-wiring.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<PointScanDeps> {
  return composeScanDeps(env, overrides);
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
