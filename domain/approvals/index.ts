export * from './model.ts';
export * from './requests.ts';
