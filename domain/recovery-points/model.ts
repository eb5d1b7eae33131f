export * from './catalogue.ts';
export * from './scan.ts';
export * from './snapshot-info.ts';
export * from './machine-facts.ts';
