export * from './model.ts';
export * from './audit-chain.ts';
export * from './evidence.ts';
export * from './runbook.ts';
