export * from './finding.ts';
export * from './assess.ts';
export * from './policy.ts';
