import { z } from 'zod';
import { startPointScans, type PointScanDeps } from '../../domain/recovery-points/index.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { scanDeps } from '../shared/scan-wiring.ts';
import { ids, taskInput } from '../shared/task-input.ts';

const deps = scanDeps();
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

export const handler = lambda(makeHandler(deps));
