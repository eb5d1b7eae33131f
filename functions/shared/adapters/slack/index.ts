/**
 * Slack's wire protocol, kept out of the domain: request signing and the job MAC (signing.ts),
 * interaction payloads (interaction.ts), Block Kit (blocks.ts), the queued decision job (jobs.ts).
 * The transport and the channel notifier are in ../slack-notifier.ts.
 */
export * from './blocks.ts';
export * from './interaction.ts';
export * from './jobs.ts';
export * from './signing.ts';
