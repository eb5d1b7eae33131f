/**
 * Ports: what the domain needs from the world, one file per port (its interface, the shapes of
 * its calls, and the rules every implementation applies). Adapters in functions/shared/
 * implement them against AWS (DynamoDB, EC2, Step Functions, EventBridge, SES, Slack); in-memory
 * fakes implement them for unit tests; the contract suite runs one set of tests against both.
 * The entities the ports carry live in their capability folders (their model.ts).
 */
export * from './acceptance-checker.ts';
export * from './approval-store.ts';
export * from './audit-log.ts';
export * from './compute-provider.ts';
export * from './drill-store.ts';
export * from './drs-recovery.ts';
export * from './event-publisher.ts';
export * from './image-directory.ts';
export * from './incident-store.ts';
export * from './machine-directory.ts';
export * from './malware-scanner.ts';
export * from './notifier.ts';
export * from './protection-store.ts';
export * from './recovery-environment.ts';
export * from './recovery-point-catalog.ts';
export * from './run-store.ts';
export * from './snapshot-directory.ts';
export * from './versioned-store.ts';
export * from './workflow-engine.ts';
