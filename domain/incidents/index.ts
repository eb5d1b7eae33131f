export * from './model.ts';
export * from './evolution.ts';
export * from './manage.ts';
export * from './notify.ts';
export * from './updates.ts';
