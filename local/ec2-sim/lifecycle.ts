import type { InstanceStateName, SummaryStatus } from '@aws-sdk/client-ec2';
import type { ImageRecord, InstanceRecord, SimContext, SnapshotRecord, VolumeRecord } from './state.ts';

/** Lifecycle states are derived from timestamps on every read: nothing is scheduled. */

export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

const TRANSIENT: Record<InstanceRecord['phase']['kind'], [InstanceStateName, InstanceStateName]> = {
  start: ['pending', 'running'],
  stop: ['stopping', 'stopped'],
  terminate: ['shutting-down', 'terminated'],
  'launch-failed': ['pending', 'terminated'],
};

export function instanceState(instance: InstanceRecord, now: number): InstanceStateName {
  const { kind, at, durationMs } = instance.phase;
  const [during, after] = TRANSIENT[kind];
  return now < at + durationMs ? during : after;
}

/** Terminated instances drop out of Describe* after `terminatedVisibleMs`, as on AWS. */
export function instanceVisible(ctx: SimContext, instance: InstanceRecord, now: number): boolean {
  const { kind, at, durationMs } = instance.phase;
  return (kind !== 'terminate' && kind !== 'launch-failed') || now < at + durationMs + ctx.settings.terminatedVisibleMs;
}

/** Counts against max-instances and subnet addresses: anything not terminated. */
export function instanceLive(instance: InstanceRecord, now: number): boolean {
  return instanceState(instance, now) !== 'terminated';
}

export interface StatusChecks {
  instance: SummaryStatus;
  system: SummaryStatus;
}

/** `initializing` while pending and for statusCheckMs after running, then `ok` (or `impaired` by fault). */
export function statusChecks(ctx: SimContext, instance: InstanceRecord, now: number): StatusChecks {
  const state = instanceState(instance, now);
  if (state === 'pending') return { instance: 'initializing', system: 'initializing' };
  if (state !== 'running') return { instance: 'not-applicable', system: 'not-applicable' };
  const runningSince = instance.phase.at + instance.phase.durationMs;
  if (now < runningSince + instance.statusCheckMs) return { instance: 'initializing', system: 'initializing' };
  const impaired = ctx.faults.impaired(instance);
  // An operating system that cannot come up (platforms.ts) fails the instance check; the host is fine.
  if (instance.bootFailure !== undefined) impaired.instance = true;
  return { instance: impaired.instance ? 'impaired' : 'ok', system: impaired.system ? 'impaired' : 'ok' };
}

export function snapshotState(snapshot: SnapshotRecord, now: number): { state: 'pending' | 'completed'; progress: string } {
  if (now >= snapshot.completesAt) return { state: 'completed', progress: '100%' };
  const span = Math.max(1, snapshot.completesAt - snapshot.startedAt);
  const pct = Math.min(99, Math.max(0, Math.floor(((now - snapshot.startedAt) / span) * 100)));
  return { state: 'pending', progress: `${pct}%` };
}

export function imageState(image: ImageRecord, now: number): 'pending' | 'available' {
  return now >= image.availableAt ? 'available' : 'pending';
}

/** A volume exists until its instance is terminated with DeleteOnTermination. */
export function volumeExists(ctx: SimContext, volume: VolumeRecord, now: number): boolean {
  const a = volume.attachment;
  if (a === undefined || !a.deleteOnTermination) return true;
  const instance = ctx.state.instances[a.instanceId];
  return instance === undefined ? false : instanceState(instance, now) !== 'terminated';
}
