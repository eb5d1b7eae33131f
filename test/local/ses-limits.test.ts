/**
 * SES v2's message size quota (SES Developer Guide, "Service quotas in Amazon SES": 40 MB per
 * message, including attachments, after base64 encoding; not adjustable): the local outbox
 * refuses an oversized SendEmail with MessageRejected and keeps nothing of it, and the e-mail
 * notifier tries every recipient's copy and then reports the ones SES refused.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MessageRejected, SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { indexInventory, parseInventoryText } from '../../domain/inventory/index.ts';
import { EmailNotSentError, SesNotifier } from '../../functions/shared/adapters/ses-notifier.ts';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime.ts';
import { base64Length, MAX_MESSAGE_BYTES, messageBytes, sendEmailRefusal } from '../../local/ses-limits.ts';

const simple = (text: string, html = '') => ({
  FromEmailAddress: 'dr@example.com', Destination: { ToAddresses: ['dana@example.com'] },
  Content: { Simple: { Subject: { Data: 'Subject' }, Body: { Text: { Data: text }, ...(html ? { Html: { Data: html } } : {}) } } },
});
const HEADERS = 'dr@example.com'.length + 'dana@example.com'.length + 'Subject'.length;

describe('sendEmailRefusal', () => {
  it('counts the body parts base64-encoded (4 bytes per 3), plus sender, recipients and subject', () => {
    expect(base64Length(3)).toBe(4);
    expect(base64Length(4)).toBe(8);
    expect(messageBytes(simple('abc', 'é'))).toBe(HEADERS + 4 + 4);
  });

  it('accepts a message of 40 MB (41,943,040 bytes) and refuses a larger one, as SES v2 does', () => {
    expect(MAX_MESSAGE_BYTES).toBe(41_943_040);
    // A text body of 30 MB is 40 MB once base64-encoded.
    const longest = Math.floor((MAX_MESSAGE_BYTES - HEADERS) / 4) * 3;
    const fits = simple('x'.repeat(longest));
    expect(messageBytes(fits)).toBe(MAX_MESSAGE_BYTES - ((MAX_MESSAGE_BYTES - HEADERS) % 4));
    expect(sendEmailRefusal(fits)).toBeUndefined();
    const over = simple('x'.repeat(longest + 1));
    expect(sendEmailRefusal(over)).toMatch(/^Message length is more than 41943040 bytes long: '\d+'\.$/);
  });

  it('sums text, HTML and attachments, and takes a raw message as it is', () => {
    const third = 'x'.repeat(Math.ceil(MAX_MESSAGE_BYTES / 3 / 4) * 3);
    expect(sendEmailRefusal(simple(third, third))).toBeUndefined();
    const withAttachment = { ...simple(third, third), Content: { Simple: { ...simple(third, third).Content.Simple, Attachments: [{ FileName: 'a.bin', RawContent: new Uint8Array(third.length) }] } } };
    expect(sendEmailRefusal(withAttachment)).toMatch(/Message length is more than/);
    expect(sendEmailRefusal({ Content: { Raw: { Data: new Uint8Array(MAX_MESSAGE_BYTES + 1) } } })).toMatch(/Message length is more than/);
    expect(sendEmailRefusal({ Content: { Raw: { Data: new Uint8Array(MAX_MESSAGE_BYTES) } } })).toBeUndefined();
  });
});

describe('the local outbox', () => {
  let rt: LocalRuntime;
  beforeAll(async () => {
    rt = await startLocalRuntime({ dataDir: null, inventoryFile: path.resolve('examples/inventory.yaml'), speed: 600, publicBaseUrl: 'http://127.0.0.1:8787' });
  });
  afterAll(async () => { await rt?.close(); });

  it('refuses a message over 40 MB with MessageRejected and keeps nothing of it; an ordinary one lands', async () => {
    const before = rt.outbox.length;
    const huge = simple('x'.repeat(31 * 1024 * 1024));
    await expect(rt.clients.ses.send(new SendEmailCommand(huge))).rejects.toMatchObject({ name: 'MessageRejected', message: expect.stringMatching(/more than 41943040 bytes/) });
    expect(rt.outbox).toHaveLength(before);
    await expect(rt.clients.ses.send(new SendEmailCommand(simple('hello')))).resolves.toMatchObject({ MessageId: expect.any(String) });
    expect(rt.outbox).toHaveLength(before + 1);
  });
});

describe('SesNotifier when SES refuses a copy', () => {
  const client = new SESv2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const ses = mockClient(client);
  const index = indexInventory(parseInventoryText(readFileSync('examples/inventory.yaml', 'utf8'), 'examples/inventory.yaml'));
  const notifier = new SesNotifier(client, { from: 'dr@example.com', fallbackTo: ['ops@example.com'], index: async () => index });
  beforeEach(() => ses.reset());

  it('still sends the other recipients their copies, then fails naming the refused one and SES\'s reason', async () => {
    ses.on(SendEmailCommand).callsFake((input: { Destination: { ToAddresses: string[] } }) => {
      if (input.Destination.ToAddresses[0] === 'dana@example.com') throw new MessageRejected({ message: "Message length is more than 41943040 bytes long: '41943041'.", $metadata: {} });
      return { $metadata: {}, MessageId: 'm' };
    });
    const send = notifier.send({ kind: 'outcome', subject: 'Failover of payments: succeeded', text: 'done', recipients: ['ana', 'dev', 'eve'] });
    const error = await send.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmailNotSentError);
    expect((error as EmailNotSentError).message).toMatch(/SES did not send 1 of 3 e-mail copies \(dana@example\.com: MessageRejected: Message length is more than 41943040 bytes/);
    expect((error as EmailNotSentError).failures.map((f) => f.address)).toEqual(['dana@example.com']);
    // Every recipient was tried: the refusal cost nobody else their copy.
    expect(ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0])).toEqual(['ana@example.com', 'dana@example.com', 'eve@example.com']);
  });

  it('sends without error when SES accepts every copy', async () => {
    ses.on(SendEmailCommand).resolves({ $metadata: {}, MessageId: 'm' });
    await expect(notifier.send({ kind: 'outcome', subject: 's', text: 't', recipients: ['ana', 'dev'] })).resolves.toBeUndefined();
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
  });
});
