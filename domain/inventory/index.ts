export * from './instance.ts';
export * from './inventory.ts';
