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

/**
 * How a machine's instance is launched, beyond image, type and network: resolved from the
 * inventory when the run is planned (launchSettingsFor, plan.ts), so a later inventory change
 * does not change a run already approved.
 */
export interface LaunchSettings {
  /** KMS key ARN for the volumes: the machine's, else its group's, else the inventory's (else the deployment's key at launch). */
  kmsKeyId?: string;
  /** Recovery mode: the machine's instance profile. Test mode: the group's testInstanceProfileArn, if any (docs/deploy.md). */
  instanceProfileArn?: string;
  /** Recovery mode with preservePrivateIp: the source's private IPv4 address as captured with the point. */
  privateIpAddress?: string;
  /** The machine's user data (plain text). */
  userData?: string;
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
  /** Absent on runs planned before launch settings existed: the deployment's key, nothing else. */
  launch?: LaunchSettings;
  /** The preserved address was in use, so EC2 chose another: the address that could not be kept. */
  privateIpNotPreserved?: string;
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
