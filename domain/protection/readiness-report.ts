/** A group's readiness report as stored and shown (the ProtectionStore port's data). */
export const READINESS_CHECKS = [
  'deciders', 'quorum', 'recovery-network', 'test-network', 'test-isolation', 'kms-key', 'instance-quota', 'drill', 'recovery-points',
] as const;
export type ReadinessCheck = (typeof READINESS_CHECKS)[number];
export type ReadinessStatus = 'pass' | 'warn' | 'fail';

export interface ReadinessItem {
  check: ReadinessCheck;
  status: ReadinessStatus;
  /** One sentence per problem: what is wrong, then (after ": ") what to do. */
  messages: string[];
}

export interface GroupReadiness {
  group: string;
  /** No item failed. */
  ready: boolean;
  checkedAt: string;
  items: ReadinessItem[];
  /** Every failed item's messages, then every warned one's: what to fix, in order. */
  problems: string[];
}
