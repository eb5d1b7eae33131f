/** What one acceptance-check probe is asked and answers (the AcceptanceChecker port's data). */
import type { AcceptanceCheck } from '../inventory/index.ts';

export interface CheckEndpoint {
  machineId: string;
  instanceId: string;
  privateIpAddress: string | null;
}

export interface ProbeRequest {
  drillId: string;
  check: AcceptanceCheck;
  /** The machine under test. */
  target: CheckEndpoint;
  /** Where the probe runs: another drilled machine for tcp/http (the path a client takes), the target itself for ssm. */
  runner: CheckEndpoint;
  /** Time left for this probe. */
  timeoutMs: number;
}

export interface ProbeResult {
  passed: boolean;
  /** What was seen, in words (`connection refused`, `HTTP 503`, `exit 1: ...`). */
  detail: string;
}
