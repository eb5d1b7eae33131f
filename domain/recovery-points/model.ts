export * from './catalogue.ts';
export * from './scan.ts';
