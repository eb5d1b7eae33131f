import type { AuditEntry, AuditEntryInput } from '../evidence/model.ts';

/** Append-only: entries are written with conditional puts and never updated. */
export interface AuditLog {
  append(incidentId: string, entry: AuditEntryInput): Promise<AuditEntry>;
  list(incidentId: string): Promise<AuditEntry[]>;
}
