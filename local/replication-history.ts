import { createHash } from 'node:crypto';
import type { RecoveryPoint } from '../domain/recovery-points/index.ts';

/**
 * Recovery points at the spacing real replication services keep: every 10 minutes for the
 * last hour, hourly for the last day, daily for the last `days` days. Deterministic ids so a
 * seeded estate is the same on every run. Used by the demo estate, tests and benchmarks.
 */
export function replicationTimes(nowMs: number, days = 30): number[] {
  const MIN = 60_000, HOUR = 60 * MIN, DAY = 24 * HOUR;
  const out = new Set<number>();
  const floorTo = (t: number, step: number) => Math.floor(t / step) * step;
  for (let t = floorTo(nowMs, 10 * MIN); t > nowMs - HOUR; t -= 10 * MIN) out.add(t);
  for (let t = floorTo(nowMs - HOUR, HOUR); t > nowMs - DAY; t -= HOUR) out.add(t);
  for (let t = floorTo(nowMs - DAY, DAY); t > nowMs - days * DAY; t -= DAY) out.add(t);
  return [...out].sort((a, b) => b - a);
}

export function hexId(seed: string, length = 17): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

export interface HistoryOptions {
  days?: number;
  devices?: string[];
  /** Mark points in [from, to] (ms) with a status/scan, e.g. the ransomware window as infected. */
  marks?: { fromMs: number; toMs: number; status?: RecoveryPoint['status']; scan?: RecoveryPoint['scan'] }[];
}

export function replicationHistory(machineId: string, nowMs: number, options: HistoryOptions = {}): RecoveryPoint[] {
  const devices = options.devices ?? ['/dev/xvda'];
  return replicationTimes(nowMs, options.days ?? 30).map((t) => {
    const capturedAt = new Date(t).toISOString();
    let status: RecoveryPoint['status'] = 'available';
    let scan: RecoveryPoint['scan'] = 'clean';
    for (const m of options.marks ?? []) {
      if (t >= m.fromMs && t <= m.toMs) { status = m.status ?? status; scan = m.scan ?? scan; }
    }
    return {
      machineId,
      pointId: `rp-${machineId}-${capturedAt.replace(/[-:]/g, '').slice(0, 13)}`,
      capturedAt,
      status,
      scan,
      snapshots: devices.map((deviceName, i) => ({ deviceName, snapshotId: `snap-${hexId(`${machineId}/${t}/${i}`)}`, volumeSize: 50 })),
      source: 'ebs' as const,
    };
  });
}
