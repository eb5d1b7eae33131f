export * from './drill.ts';
export * from './acceptance-probe.ts';
export * from './lifecycle.ts';
