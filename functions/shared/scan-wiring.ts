/**
 * What the scan-before-launch functions (start-point-scans, check-point-scans) share: their
 * configuration, validated once at cold start, and the use cases' dependencies.
 */
import { z } from 'zod';
import type { PointScanDeps } from '../../domain/recovery-points/index.ts';
import { GuardDutyMalwareScanner } from './adapters/guardduty-scanner.ts';
import { guardDutyClient } from './clients.ts';
import { configVars, loadConfig } from './config.ts';
import { catalogStore, clock, estate, stateStores } from './wiring.ts';

export const scanConfigVars = {
  STATE_TABLE: configVars.STATE_TABLE,
  CATALOG_TABLE: configVars.CATALOG_TABLE,
  INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
  /** The role GuardDuty assumes to read the snapshots (the stack's MalwareScannerRole). */
  MALWARE_SCANNER_ROLE_ARN: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'),
  /** Set by Lambda: the Region of the function and of the snapshots it scans. */
  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS Region like us-east-1'),
};

/** Builds the dependencies once per container; the inventory is re-read through its cache. */
export function scanDeps(env: NodeJS.ProcessEnv = process.env): () => Promise<PointScanDeps> {
  const config = loadConfig(scanConfigVars, env);
  const stores = stateStores(config);
  const catalog = catalogStore(config);
  const scanner = new GuardDutyMalwareScanner(guardDutyClient, { scannerRoleArn: config.MALWARE_SCANNER_ROLE_ARN, region: config.AWS_REGION });
  return async () => ({
    runs: stores.runs, incidents: stores.incidents, audit: stores.audit, catalog, points: catalog, scanner,
    index: (await estate(config)).index, clock,
  });
}
