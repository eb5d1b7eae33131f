export * from './model.ts';
export * from './failback.ts';
export * from './failover.ts';
export * from './launch-one.ts';
