/** A message to people (e-mail, Slack), sent by every capability. */
export interface Notification {
  kind: 'approval-request' | 'decision' | 'escalation' | 'outcome' | 'finding' | 'drill' | 'alarm';
  incidentId?: string;
  subject: string;
  text: string;
  /** Links to pages (never containing a task token). */
  links?: { label: string; url: string }[];
  /** Person ids to reach; empty = the configured channel. */
  recipients?: string[];
}
