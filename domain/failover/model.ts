export * from './plan.ts';
export * from './pacing.ts';
export * from './run.ts';
export * from './proposal.ts';
