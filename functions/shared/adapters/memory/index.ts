export { MemoryApprovalStore } from './approval-store.ts';
export { MemoryAuditLog } from './audit-log.ts';
export { MemoryIncidentStore } from './incident-store.ts';
export { MemoryRecoveryPointCatalog } from './recovery-point-catalog.ts';
export { MemoryRunStore } from './run-store.ts';
