export * from './model.ts';
export * from './acceptance-checks.ts';
export * from './runs.ts';
export * from './schedule.ts';
