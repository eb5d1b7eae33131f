import type { Drill, DrillStatus, GroupDrillStatus } from '../drills/model.ts';

/**
 * Drill records (`DRILL#<drillId>` / `META`, listed per group newest first) and per-group drill
 * status (`GROUP#<group>` / `DRILLS`, next to the incident lock) in the state table.
 */
export interface DrillStore {
  /** Conditional create; an existing drill is returned unchanged (`created: false`). */
  createDrill(drill: Drill): Promise<{ created: boolean; drill: Drill }>;
  getDrill(drillId: string): Promise<Drill | null>;
  /**
   * Set the given attributes (`undefined` removes one). NotFoundError when the drill does not
   * exist; ConflictError when `ifStatusIn` is given and the stored status is not among them.
   */
  updateDrill(
    drillId: string,
    changes: Partial<Omit<Drill, 'drillId' | 'group' | 'startedAt'>>,
    options?: { ifStatusIn?: DrillStatus[] },
  ): Promise<Drill>;
  /** A group's drills, newest (startedAt) first. */
  listDrills(group: string, options?: { limit?: number }): Promise<Drill[]>;
  getGroupStatus(group: string): Promise<GroupDrillStatus | null>;
  /** Replace the group's drill status (read-modify-write by its only writers: finish-drill and the scheduler). */
  putGroupStatus(status: GroupDrillStatus): Promise<void>;
}
