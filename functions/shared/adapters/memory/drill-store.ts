import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import type { Drill, DrillStatus, GroupDrillStatus } from '../../../../domain/drills/index.ts';
import type { DrillStore } from '../../../../domain/ports/index.ts';

const clone = <T>(v: T): T => structuredClone(v);
const FIXED = new Set(['drillId', 'group', 'startedAt']);

/** In-memory DrillStore with the DynamoDB adapter's semantics (deep copies in and out). */
export class MemoryDrillStore implements DrillStore {
  private readonly drills = new Map<string, Drill>();
  private readonly groups = new Map<string, GroupDrillStatus>();

  async createDrill(drill: Drill): Promise<{ created: boolean; drill: Drill }> {
    const existing = this.drills.get(drill.drillId);
    if (existing) return { created: false, drill: clone(existing) };
    this.drills.set(drill.drillId, clone(drill));
    return { created: true, drill: clone(drill) };
  }

  async getDrill(drillId: string): Promise<Drill | null> {
    const d = this.drills.get(drillId);
    return d ? clone(d) : null;
  }

  async updateDrill(drillId: string, changes: Partial<Omit<Drill, 'drillId' | 'group' | 'startedAt'>>, options: { ifStatusIn?: DrillStatus[] } = {}): Promise<Drill> {
    const d = this.drills.get(drillId);
    if (!d) throw new NotFoundError(`drill ${drillId} not found`);
    if (options.ifStatusIn && !options.ifStatusIn.includes(d.status)) throw new ConflictError(`drill ${drillId} is ${d.status}, not ${options.ifStatusIn.join(' or ')}`);
    const next: Record<string, unknown> = { ...d };
    for (const [k, v] of Object.entries(clone(changes))) {
      if (FIXED.has(k)) continue;
      if (v === undefined) delete next[k]; else next[k] = v;
    }
    this.drills.set(drillId, next as unknown as Drill);
    return clone(next as unknown as Drill);
  }

  async listDrills(group: string, options: { limit?: number } = {}): Promise<Drill[]> {
    const key = (d: Drill) => `${d.startedAt}#${d.drillId}`;
    return [...this.drills.values()].filter((d) => d.group === group)
      .sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0))
      .slice(0, options.limit ?? 100).map(clone);
  }

  async getGroupStatus(group: string): Promise<GroupDrillStatus | null> {
    const s = this.groups.get(group);
    return s ? clone(s) : null;
  }

  async putGroupStatus(status: GroupDrillStatus): Promise<void> {
    this.groups.set(status.group, clone(status));
  }
}
