export * from './clock.ts';
export * from './errors.ts';
export * from './retry.ts';
export * from './validation.ts';
export * from './notification.ts';
export * from './ids.ts';
export * from './concurrency.ts';
export * from './bounds.ts';
