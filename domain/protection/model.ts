export * from './coverage-report.ts';
export * from './rpo.ts';
export * from './readiness-report.ts';
