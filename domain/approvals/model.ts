export * from './approval.ts';
export * from './links.ts';
