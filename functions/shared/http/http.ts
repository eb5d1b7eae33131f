/**
 * Moved to functions/shared/edge/ (issue 13): kept only as a re-export until every importer
 * (functions/decide-approval/) imports the edge module; then this file goes.
 */
export * from '../edge/index.ts';
