import type { CoverageReport, GroupReadiness, RpoSample, RpoState } from '../../../../domain/protection/index.ts';
import type { ProtectionStore } from '../../../../domain/ports/index.ts';

const clone = <T>(v: T): T => structuredClone(v);
type Last = NonNullable<RpoState['last']>;

/** In-memory ProtectionStore with the DynamoDB adapter's semantics (conditional transitions, deep copies). */
export class MemoryProtectionStore implements ProtectionStore {
  private readonly rpo = new Map<string, RpoState>();
  private readonly history = new Map<string, RpoSample[]>();
  private readonly readiness = new Map<string, GroupReadiness>();
  private coverage: (CoverageReport & { fingerprint: string }) | null = null;

  async getRpoState(machineId: string): Promise<RpoState | null> {
    const s = this.rpo.get(machineId);
    return s ? clone(s) : null;
  }

  async listRpoStates(): Promise<RpoState[]> {
    return [...this.rpo.values()].sort((a, b) => a.machineId.localeCompare(b.machineId)).map(clone);
  }

  async openRpoBreach(machineId: string, b: { group: string; since: string; reason: string; last: Last }): Promise<{ opened: boolean }> {
    const s = this.rpo.get(machineId);
    if (s?.inBreach) return { opened: false };
    const next: RpoState = {
      ...this.base(machineId, b.group, s), inBreach: true, breachSince: b.since, reason: b.reason, last: clone(b.last),
      notice: { kind: 'start', at: b.since, sent: false }, updatedAt: b.since,
    };
    delete next.breachEndedAt;
    this.rpo.set(machineId, next);
    return { opened: true };
  }

  async closeRpoBreach(machineId: string, e: { group: string; endedAt: string; last: Last }): Promise<{ closed: boolean }> {
    const s = this.rpo.get(machineId);
    if (!s?.inBreach) return { closed: false };
    const next: RpoState = { ...s, group: e.group, inBreach: false, breachEndedAt: e.endedAt, last: clone(e.last), notice: { kind: 'end', at: e.endedAt, sent: false }, updatedAt: e.endedAt };
    delete next.reason;
    this.rpo.set(machineId, next);
    return { closed: true };
  }

  async observeRpo(machineId: string, o: { group: string; last: Last; reason?: string }): Promise<void> {
    const next: RpoState = { ...this.base(machineId, o.group, this.rpo.get(machineId)), last: clone(o.last), updatedAt: o.last.at };
    if (o.reason) next.reason = o.reason; else delete next.reason;
    this.rpo.set(machineId, next);
  }

  async setReplicationStalled(machineId: string, c: { group: string; stalled: boolean; at: string }): Promise<boolean> {
    const s = this.rpo.get(machineId);
    if (s?.stalledChangedAt && !(s.stalledChangedAt < c.at)) return false;
    this.rpo.set(machineId, { ...this.base(machineId, c.group, s), stalled: c.stalled, stalledChangedAt: c.at, updatedAt: c.at });
    return true;
  }

  async markRpoNoticeSent(machineId: string, noticeAt: string): Promise<void> {
    const s = this.rpo.get(machineId);
    if (s?.notice?.at === noticeAt) s.notice.sent = true;
  }

  async claimRpoNotice(machineId: string, noticeAt: string, at: string): Promise<boolean> {
    const s = this.rpo.get(machineId);
    if (!s?.notice || s.notice.at !== noticeAt || s.notice.sent) return false;
    s.notice.at = at;
    return true;
  }

  async appendRpoSample(group: string, sample: RpoSample, options: { keep: number; minIntervalMs: number }): Promise<boolean> {
    const list = this.history.get(group) ?? [];
    const last = list.at(-1);
    if (last && Date.parse(sample.at) - Date.parse(last.at) < options.minIntervalMs) return false;
    this.history.set(group, [...list, clone(sample)].slice(-options.keep));
    return true;
  }

  async getRpoHistory(group: string): Promise<RpoSample[]> {
    return clone(this.history.get(group) ?? []);
  }

  async putReadiness(report: GroupReadiness): Promise<{ previous: GroupReadiness | null }> {
    const previous = this.readiness.get(report.group) ?? null;
    this.readiness.set(report.group, clone(report));
    return { previous };
  }

  async getReadiness(group: string): Promise<GroupReadiness | null> {
    const r = this.readiness.get(group);
    return r ? clone(r) : null;
  }

  async recordCoverage(report: CoverageReport & { fingerprint: string }): Promise<{ changed: boolean; first: boolean }> {
    if (this.coverage && this.coverage.fingerprint === report.fingerprint) {
      this.coverage.checkedAt = report.checkedAt;
      return { changed: false, first: false };
    }
    const first = this.coverage === null;
    this.coverage = clone(report);
    return { changed: true, first };
  }

  async getCoverage(): Promise<(CoverageReport & { fingerprint: string }) | null> {
    return this.coverage ? clone(this.coverage) : null;
  }

  private base(machineId: string, group: string, s: RpoState | undefined): RpoState {
    return { ...(s ? clone(s) : {}), machineId, group, inBreach: s?.inBreach ?? false, stalled: s?.stalled ?? false, updatedAt: s?.updatedAt ?? '' };
  }
}
