export * from './approval.ts';
export * from './links.ts';
export * from './slack.ts';
