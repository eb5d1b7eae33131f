import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseWith, ValidationError } from '../shared/index.ts';

/**
 * The assessment policy: which findings propose a failover, which only notify, and how far
 * back before the first evidence data may already be corrupted. Defaults are below; a policy
 * file overrides any of them. docs/policy.md explains each rule in words.
 */

export const DEFAULT_FAILOVER_PURPOSES = [
  'Backdoor', 'CryptoCurrency', 'Execution', 'Impact', 'Persistence', 'PrivilegeEscalation',
  'Trojan', 'DefenseEvasion', 'UnauthorizedAccess', 'CredentialAccess', 'AttackSequence',
] as const;

/** Reconnaissance and policy findings describe exposure, not compromise: never a failover. */
export const NEVER_FAILOVER_PURPOSES = ['Recon', 'Discovery', 'Policy', 'PenTest', 'Stealth'] as const;

/** Resource types whose compromise can corrupt a protected machine's disks. */
export const DEFAULT_MACHINE_RESOURCE_TYPES = ['Instance', 'Container'] as const;

export const policySchema = z.strictObject({
  version: z.string().min(1).default('default-1'),
  failoverPurposes: z.array(z.string().min(1)).default([...DEFAULT_FAILOVER_PURPOSES]),
  failoverMinSeverity: z.number().min(0).max(10).default(7),
  notifyMinSeverity: z.number().min(0).max(10).default(4),
  machineResourceTypes: z.array(z.string().min(1)).default([...DEFAULT_MACHINE_RESOURCE_TYPES]),
  /** Minutes subtracted from the earliest evidence to estimate when corruption may have started. */
  safetyMarginMinutes: z.number().min(0).max(30 * 24 * 60).default(60),
  safetyMarginMinutesByPurpose: z.record(z.string(), z.number().min(0).max(30 * 24 * 60)).default({}),
  /** Fail over the whole group of a touched machine (default) or only the touched machines. */
  scope: z.enum(['groups', 'machines']).default('groups'),
  /** Inputs of the RTO estimate. */
  rto: z
    .strictObject({
      registerImageMinutes: z.number().min(0).default(1),
      bootMinutes: z.number().min(0).default(2),
      statusCheckMinutes: z.number().min(0).default(3),
      acceptanceCheckMinutes: z.number().min(0).default(2),
    })
    .default({ registerImageMinutes: 1, bootMinutes: 2, statusCheckMinutes: 3, acceptanceCheckMinutes: 2 }),
});
export type Policy = z.infer<typeof policySchema>;

export const DEFAULT_POLICY: Policy = policySchema.parse({});

export function parsePolicy(value: unknown, source = 'policy'): Policy {
  const policy = parseWith(policySchema, value ?? {}, source);
  const clash = policy.failoverPurposes.filter((p) => (NEVER_FAILOVER_PURPOSES as readonly string[]).includes(p));
  if (clash.length > 0) {
    throw new ValidationError(source, clash.map((p) => ({
      path: `failoverPurposes[${policy.failoverPurposes.indexOf(p)}]`,
      message: `${p} findings never propose a failover`,
    })));
  }
  if (policy.notifyMinSeverity > policy.failoverMinSeverity) {
    throw new ValidationError(source, [{ path: 'notifyMinSeverity', message: 'must not exceed failoverMinSeverity' }]);
  }
  return policy;
}

export function parsePolicyText(text: string, source = 'policy'): Policy {
  let value: unknown;
  try {
    value = parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    throw new ValidationError(source, [{ path: '', message: `not valid YAML or JSON (${(e as Error).message.split('\n')[0]})` }]);
  }
  return parsePolicy(value, source);
}

export function safetyMarginMinutes(policy: Policy, threatPurpose: string): number {
  return policy.safetyMarginMinutesByPurpose[threatPurpose] ?? policy.safetyMarginMinutes;
}
