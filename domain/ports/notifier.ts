import type { Notification } from '../shared/index.ts';

export interface Notifier {
  send(notification: Notification): Promise<void>;
}
