import { z } from 'zod';
import { checkPointScans, type PointScanDeps } from '../../domain/recovery-points/index.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composeScanDeps } from '../shared/scan-wiring.ts';
import { ids, taskInput } from '../shared/task-input.ts';

const input = z.strictObject({ incidentId: ids.incidentId });

/**
 * Step Functions task `Check Point Scans`: read the running scans; threats mark the point
 * infected and step the machine back to an older point (scanned in turn); the budget ends the wait.
 */
export function makeHandler(load: () => Promise<PointScanDeps>) {
  return async (event: unknown) => {
    const result = await checkPointScans(await load())(taskInput(input, event));
    logger.info('point scans checked', { incidentId: result.incidentId, done: result.done, ...result.scans, ready: result.ready });
    return result;
  };
}

/** The dependencies from the function's environment (shared with the other scan function: scan-wiring.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<PointScanDeps> {
  return composeScanDeps(env, overrides);
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
