/**
 * What the scan-before-launch functions (start-point-scans, check-point-scans) share: their
 * configuration, validated once at cold start, and the use cases' dependencies.
 */
import { z } from 'zod';
import type { PointScanDeps } from '../../domain/recovery-points/index.ts';
import { GuardDutyMalwareScanner } from './adapters/guardduty-scanner.ts';
import { guardDutyOf, platform, type Env, type Overrides } from './compose.ts';
import { configVars, loadConfig } from './config.ts';
import { catalogStore, estate, stateStores } from './wiring.ts';

export const scanConfigVars = {
  STATE_TABLE: configVars.STATE_TABLE,
  CATALOG_TABLE: configVars.CATALOG_TABLE,
  INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
  /** The role GuardDuty assumes to read the snapshots (the stack's MalwareScannerRole). */
  MALWARE_SCANNER_ROLE_ARN: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'),
  /** Set by Lambda: the Region of the function and of the snapshots it scans. */
  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS Region like us-east-1'),
};

/** Both functions' compose: the dependencies, built once per composition; the inventory is re-read through its cache. */
export function composeScanDeps(env: Env, overrides: Overrides = {}): () => Promise<PointScanDeps> {
  const config = loadConfig(scanConfigVars, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const catalog = catalogStore(config, p);
  const scanner = new GuardDutyMalwareScanner(guardDutyOf(p), { scannerRoleArn: config.MALWARE_SCANNER_ROLE_ARN, region: config.AWS_REGION });
  return async () => ({
    runs: stores.runs, incidents: stores.incidents, audit: stores.audit, catalog, points: catalog, scanner,
    index: (await estate(config, p)).index, clock: p.clock,
  });
}
