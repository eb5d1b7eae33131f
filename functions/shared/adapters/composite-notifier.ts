import type { Notifier } from '../../../domain/ports/index.ts';
import type { Notification } from '../../../domain/shared/index.ts';

/** A channel may say which notifications it carries (e-mail: personal copies; Slack: the shared one). */
export interface ChannelNotifier extends Notifier {
  accepts?(notification: Notification): boolean;
}

/**
 * Several channels behind one Notifier port (e-mail and Slack). Every channel that carries a
 * notification is tried; one being down does not silence the others. The send fails when
 * every channel that carries it failed, so the caller notices a notification that reached
 * nobody — e.g. a decider's personal e-mail, which only e-mail carries.
 */
export class CompositeNotifier implements Notifier {
  constructor(
    private readonly channels: { name: string; notifier: ChannelNotifier }[],
    private readonly onFailure: (channel: string, error: Error) => void = () => {},
  ) {}

  async send(notification: Notification): Promise<void> {
    const carriers = this.channels.filter((c) => c.notifier.accepts?.(notification) ?? true);
    if (carriers.length === 0) return;
    const results = await Promise.allSettled(carriers.map((c) => c.notifier.send(notification)));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ channel: carriers[i]!.name, error: r.reason as Error }] : []));
    for (const f of failures) this.onFailure(f.channel, f.error);
    if (failures.length === carriers.length) {
      const first = failures[0]!.error;
      throw new Error(`every channel carrying the notification failed (${failures.map((f) => `${f.channel}: ${f.error.name}`).join(', ')})`, { cause: first });
    }
  }
}
