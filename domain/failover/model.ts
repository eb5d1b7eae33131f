export * from './plan.ts';
export * from './pacing.ts';
