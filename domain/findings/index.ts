export * from './model.ts';
export * from './intake.ts';
