export interface AuditEntryInput {
  /** e.g. finding.received, incident.created, approval.requested, approval.refused, decision.approved, launch.started, machine.launched, machine.terminated, outcome.recorded */
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
}

/** One entry of an incident's audit trail, as the append-only audit log holds it. */
export interface AuditEntry extends AuditEntryInput {
  incidentId: string;
  seq: number;
  /** sha-256 over the previous digest and this entry's canonical JSON: a chain tampering breaks. */
  prevDigest: string;
  digest: string;
}
