/**
 * The SES v2 message size quota the local outbox enforces (SES Developer Guide, "Service quotas
 * in Amazon SES": "Using the SES v2 API or SMTP – Maximum message size (including attachments):
 * 40 MB per message (after base64 encoding)", not adjustable; 10 MB with the v1 API, whose error
 * names 10485760 bytes, so MB is 1,024 × 1,024 bytes here too). SendEmail answers a message SES
 * will not send with MessageRejected ("The message can't be sent because it contains invalid
 * content"); the outbox refuses an oversized one the same way and keeps nothing of it.
 *
 * The size counted is a lower bound of the MIME message SES builds: the header values it must
 * carry (sender, recipients, subject) plus each body part and attachment base64-encoded (a Raw
 * message counts as given: it is the MIME message). SES adds MIME boundaries and headers on top,
 * so what is refused here SES refuses too.
 */

/** 40 MB per message, in bytes. */
export const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

type Text = { Data?: string } | undefined;
export interface SendEmailInput {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
  ReplyToAddresses?: string[];
  Content?: {
    Simple?: { Subject?: Text; Body?: { Text?: Text; Html?: Text }; Attachments?: { RawContent?: Uint8Array; FileName?: string }[] };
    Raw?: { Data?: Uint8Array };
  };
}

const utf8 = (s: string | undefined) => (s ? Buffer.byteLength(s, 'utf8') : 0);
/** Length of the base64 encoding of `bytes` bytes. */
export const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

/** At least how many bytes the message SES would send is. */
export function messageBytes(input: SendEmailInput): number {
  const raw = input.Content?.Raw?.Data;
  if (raw) return raw.byteLength;
  const d = input.Destination ?? {};
  const addresses = [input.FromEmailAddress, ...(d.ToAddresses ?? []), ...(d.CcAddresses ?? []), ...(d.BccAddresses ?? []), ...(input.ReplyToAddresses ?? [])];
  const simple = input.Content?.Simple;
  const parts = [simple?.Body?.Text?.Data, simple?.Body?.Html?.Data].map((p) => (p ? base64Length(utf8(p)) : 0));
  const attachments = (simple?.Attachments ?? []).map((a) => base64Length(a.RawContent?.byteLength ?? 0) + utf8(a.FileName));
  return [...addresses.map(utf8), utf8(simple?.Subject?.Data), ...parts, ...attachments].reduce((n, x) => n + x, 0);
}

/** Why SES rejects this message (MessageRejected), or undefined when its size is acceptable. */
export function sendEmailRefusal(input: SendEmailInput): string | undefined {
  const bytes = messageBytes(input);
  if (bytes <= MAX_MESSAGE_BYTES) return undefined;
  return `Message length is more than ${MAX_MESSAGE_BYTES} bytes long: '${bytes}'.`;
}
