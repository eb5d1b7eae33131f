import type { SimContext } from '../state.ts';

/** What a handler returns: the SDK output type without `$metadata` (the middleware adds it). */
export type Output<T> = Omit<T, '$metadata'>;

/** A command handler; inputs are the SDK's command input types. */
export type CommandHandler<I = never> = (ctx: SimContext, input: I) => object;
