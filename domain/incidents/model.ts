export * from './incident.ts';
