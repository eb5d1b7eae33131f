export { DynamoApprovalStore } from './approval-store.ts';
export { DynamoAuditLog } from './audit-log.ts';
export { documentClient, type DynamoAdapterOptions, type DynamoClient, type RequestStats } from './client.ts';
export { DynamoIncidentStore } from './incident-store.ts';
export { DynamoRecoveryPointCatalog } from './recovery-point-catalog.ts';
export { catalogTableDefinition, ensureTables, STATE_GSI1, stateTableDefinition } from './tables.ts';
