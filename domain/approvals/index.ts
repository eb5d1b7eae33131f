/** Approvals: asking deciders, the one decision validator, deciding, links, messages (the capability's public surface). */
export * from './model.ts';
export * from './deciders.ts';
export * from './messages.ts';
export * from './request.ts';
export * from './validate.ts';
export * from './decide.ts';
export * from './deliver.ts';
export * from './revoke.ts';
export * from './expire.ts';
