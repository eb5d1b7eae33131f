/**
 * The edge: what every HTTP entry point (the Lambdas, the local server and console, the CLI's
 * local API) shares — HTML escaping, content-security headers, bounded body parsing, and the
 * mapping of domain errors to HTTP statuses and safe messages.
 */
export * from './errors.ts';
export * from './headers.ts';
export * from './html.ts';
export * from './ids.ts';
export * from './input.ts';
export * from './json-body.ts';
export * from './lambda.ts';
