/**
 * A drill as stored (DrillStore) and shown: what was requested, what ran, what was measured,
 * the verdict and the cleanup. Types only: the use cases live in drills.ts.
 */
export type DrillTrigger = 'schedule' | 'on-demand';
export type DrillStatus = 'running' | 'finished' | 'aborted';
/** pass: met the objectives; warn: passed with a warning (little headroom, lagging replication, ...); fail: did not recover. */
export type DrillResult = 'pass' | 'warn' | 'fail';

export interface DrillMachine {
  machineId: string;
  wave: number;
  pointId: string;
  capturedAt: string;
  /** Drill start − point time: the data a recovery from this point would have given up. */
  pointAgeMinutes: number;
  imageId?: string;
  instanceId?: string;
  instanceType?: string;
  launchedAt?: string;
  readyAt?: string;
  failedAt?: string;
  error?: string;
}

export interface CheckResult {
  name: string;
  type: 'tcp' | 'http' | 'ssm';
  /** The machine checked. */
  machineId: string;
  instanceId: string | null;
  /** Where the probe ran (inside the test network). */
  runnerMachineId: string | null;
  passed: boolean;
  detail: string;
  attempts: number;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  timeoutSeconds: number;
}

export interface DrillMeasurements {
  /** Drill start → every acceptance check passed (every machine ready when the group has no checks). */
  rtoMinutes: number | null;
  waves: { wave: number; machines: number; readyMinutes: number | null; durationMinutes: number | null }[];
  /** Largest point age over the machines: the RPO actually available at drill time. */
  pointAgeMinutes: number | null;
  consistencySkewMinutes: number | null;
  estimatedRtoMinutes: number | null;
  /** Cost-relevant: instance-minutes from launch to cleanup, per instance type. */
  instanceMinutes: number;
  instanceMinutesByType: Record<string, number>;
  instancesLaunched: number;
  imagesRegistered: number;
}

export interface DrillCleanup {
  status: 'clean' | 'incomplete';
  at: string;
  terminated: string[];
  deregistered: string[];
  /** What is still there, e.g. `instance i-0abc (running, payments-api-1)`, `image ami-0def`. */
  remaining: string[];
}

export interface Drill {
  drillId: string;
  group: string;
  trigger: DrillTrigger;
  requestedBy: string;
  /** `latest`, `random-within:7d`, a point id or an ISO time, as requested. */
  pointSpec: string;
  status: DrillStatus;
  startedAt: string;
  finishedAt?: string;
  /** The instant every machine's point was chosen at or before. */
  cutoff?: string;
  waves?: { wave: number; machines: string[] }[];
  machines: DrillMachine[];
  checks: CheckResult[];
  checksPassedAt?: string;
  objectives: { rpoMinutes: number; rtoMinutes: number } | null;
  measurements?: DrillMeasurements;
  result?: DrillResult;
  /** Why the result is what it is (warnings and failures), in words. */
  reasons: string[];
  error?: string;
  cleanup?: DrillCleanup;
  abort?: { at: string; status: 'ABORTED' | 'TIMED_OUT' };
}

/** Per group, in the state table next to the incident lock: the last drill and the scheduler's bookkeeping. */
export interface GroupDrillStatus {
  group: string;
  lastDrill?: { drillId: string; startedAt: string; finishedAt?: string; status: DrillStatus; result?: DrillResult; rtoMinutes?: number | null; cleanup?: DrillCleanup['status'] };
  lastPassedAt?: string;
  machines?: Record<string, { lastTestedAt: string; result: 'pass' | 'fail'; drillId: string }>;
  /** Slot of the last drill the schedule started (ISO), so a slot is never drilled twice. */
  lastScheduledSlot?: string;
  lastScheduledDrillId?: string;
  /** When the daily check last told people this group is overdue or failed. */
  lastNoticeAt?: string;
  updatedAt: string;
}
