/** RPO observations and the state kept per machine and group (the ProtectionStore port's data). */
export interface NewestPoint {
  pointId: string;
  capturedAt: string;
}

export interface RpoObservation {
  machineId: string;
  group: string;
  /** The group's objective; null when it has none. */
  objectiveMinutes: number | null;
  newestPoint: NewestPoint | null;
  /** Age of the newest restorable point at `at`; null when there is none. */
  ageMinutes: number | null;
  stalled: boolean;
  breached: boolean;
  /** Why it is in breach (null when it is not). */
  reason: string | null;
  at: string;
}

/** Stored per machine (state table `RPO#<machineId>` / `STATE`). */
export interface RpoState {
  machineId: string;
  group: string;
  inBreach: boolean;
  /** Start of the current (or the last) breach. */
  breachSince?: string;
  breachEndedAt?: string;
  reason?: string;
  stalled: boolean;
  /** Time of the DRS event that set `stalled` (later events win, whatever the delivery order). */
  stalledChangedAt?: string;
  last?: Pick<RpoObservation, 'at' | 'ageMinutes' | 'objectiveMinutes' | 'newestPoint'>;
  /** The latest transition's announcement; `sent: false` until the notification went out. */
  notice?: { kind: 'start' | 'end'; at: string; sent: boolean };
  updatedAt: string;
}

/** One achieved-RPO sample of a group: what it would have lost at `at`. */
export interface RpoSample {
  at: string;
  /** The oldest newest-restorable point among the group's machines (null: a machine had none). */
  worstAgeMinutes: number | null;
  worstMachineId: string | null;
  objectiveMinutes: number | null;
  machines: number;
  machinesInBreach: number;
}
