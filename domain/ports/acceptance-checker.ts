import type { ProbeRequest, ProbeResult } from '../drills/model.ts';

/**
 * Runs one acceptance-check probe from inside a drill's isolated test network (SSM Run Command
 * on AWS; simulated locally). Resolves with what was seen; rejects only when the probe could
 * not be run at all (the caller retries until the check's timeout).
 */
export interface AcceptanceChecker {
  probe(request: ProbeRequest): Promise<ProbeResult>;
}
