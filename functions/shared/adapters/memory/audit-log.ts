/** In-memory AuditLog: the same hash chain as the DynamoDB adapter, append-only. */
import type { AuditLog } from '../../../../domain/ports/index.ts';
import { nextAuditEntry, type AuditEntry, type AuditEntryInput } from '../../../../domain/evidence/index.ts';

export class MemoryAuditLog implements AuditLog {
  private readonly logs = new Map<string, AuditEntry[]>();

  async append(incidentId: string, input: AuditEntryInput): Promise<AuditEntry> {
    const log = this.logs.get(incidentId) ?? [];
    const entry = nextAuditEntry(incidentId, log.at(-1) ?? null, input);
    log.push(entry);
    this.logs.set(incidentId, log);
    return structuredClone(entry);
  }

  async list(incidentId: string): Promise<AuditEntry[]> {
    return structuredClone(this.logs.get(incidentId) ?? []);
  }
}
