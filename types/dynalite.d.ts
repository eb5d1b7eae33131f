/** dynalite 4.0.0 ships no type declarations: just what Cleanpoint uses. */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Milliseconds a table stays CREATING / DELETING / UPDATING (default 500 each). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    /** LevelDB directory; in memory when omitted. */
    path?: string;
    ssl?: boolean;
    verbose?: boolean;
    debug?: boolean;
  }

  /** An http.Server answering the DynamoDB JSON protocol once `listen` is called. */
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}
