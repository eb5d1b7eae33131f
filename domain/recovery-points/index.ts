export * from './model.ts';
export * from './intake.ts';
export * from './scans.ts';
export * from './select-for-incident.ts';
export * from './snapshot-deletions.ts';
export * from './verdicts.ts';
