export * from './model.ts';
export * from './coverage.ts';
export * from './inventory-diff.ts';
export * from './readiness.ts';
export * from './rpo-monitor.ts';
