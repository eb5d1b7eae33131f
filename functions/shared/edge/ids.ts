import { APPROVAL_ID, DRILL_ID, idSchema, INCIDENT_ID, INVENTORY_NAME, RUN_ID } from '../../../domain/shared/index.ts';

/**
 * The id schemas every edge checks ids with (Step Functions task input, the local API and
 * console, the CLI), built from the domain's id formats (domain/shared/ids.ts).
 */
export const idSchemas = {
  incidentId: idSchema(INCIDENT_ID),
  approvalId: idSchema(APPROVAL_ID),
  drillId: idSchema(DRILL_ID),
  runId: idSchema(RUN_ID, 'must be a run id', { min1: true }),
  machineId: idSchema(INVENTORY_NAME, 'must be a machine id', { min1: true }),
  personId: idSchema(INVENTORY_NAME, 'must be a person id from the inventory', { min1: true }),
};
