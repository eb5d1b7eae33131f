import type { SnapshotRef } from '../recovery-points/model.ts';

export type RunKind = 'incident' | 'drill' | 'failback';

/** One failover (or drill, or failback) run: what was decided and when. */
export interface Run {
  runId: string;
  kind: RunKind;
  incidentId?: string;
  mode: 'recovery' | 'test';
  createdAt: string;
  /** When the decision that started the launches was taken: RTO is measured from here. */
  decidedAt: string;
  waves: { wave: number; machines: string[] }[];
}

/** One machine of a run: the plan entry and what happened to it. */
export interface RunMachine {
  runId: string;
  machineId: string;
  group: string;
  wave: number;
  mode: 'recovery' | 'test';
  pointId: string;
  capturedAt: string;
  lossMinutes: number;
  snapshots: SnapshotRef[];
  instanceType: string | null;
  fallbackInstanceTypes: string[];
  network: { subnetId: string; securityGroupIds: string[] } | null;
  imageId?: string;
  instanceId?: string;
  instanceTypeUsed?: string;
  launchedAt?: string;
  readyAt?: string;
  failedAt?: string;
  error?: string;
  throttledRetries?: number;
  /**
   * When a later decision (a re-proposal after new evidence, a re-infection) approved another
   * point for this machine: that decision's time (RTO is measured from it).
   */
  decidedAt?: string;
  /** Earlier points (and instances, if launched) this machine was re-planned away from, oldest first. */
  replaced?: { pointId: string; capturedAt: string; instanceId: string | null; at: string; why: string }[];
}
