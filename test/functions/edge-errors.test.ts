import { describe, expect, it } from 'vitest';
import { HttpError, publicMessage, statusFor } from '../../functions/shared/edge/index.ts';
import { captureOutput } from './support.ts';

/**
 * Issue 15, item 4: no internal message of a dependency reaches a caller. The edge answers any
 * error it does not know with one generic line and a reference; the error itself goes to the
 * log under that reference, so an operator can find it from what the caller quotes.
 */
describe('edge: unknown errors answer a generic 500 with a reference, never their own message', () => {
  const dynamo = Object.assign(new Error('One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes'), { name: 'ValidationException', $fault: 'client' });
  const overflow = new RangeError('Maximum call stack size exceeded');

  it.each([['a DynamoDB ValidationException', dynamo], ['a stack overflow', overflow], ['something that is not an Error', 'boom: secret-ish detail']])(
    '%s is a 500 whose message names a reference and nothing of the error, and the log has both',
    async (_what, error) => {
      // Act
      const status = statusFor(error, { byName: true });
      const { output, result: message } = await captureOutput(async () => publicMessage(error, status));

      // Assess
      expect(status).toBe(500);
      expect(message).toMatch(/^Something went wrong on our side\..* \(reference [0-9a-f-]{36}\)$/);
      expect(message).not.toMatch(/hashkey|ValidationException|call stack|secret-ish/);
      const reference = message!.match(/reference ([0-9a-f-]{36})/)![1]!;
      expect(output).toContain(reference);
    },
  );

  it('gives every failure its own reference', async () => {
    const { result: a } = await captureOutput(async () => publicMessage(overflow, 500));
    const { result: b } = await captureOutput(async () => publicMessage(overflow, 500));
    expect(a).not.toBe(b);
  });

  it('passes a 4xx message on as it is: it is ours, written for the caller', () => {
    expect(publicMessage(new HttpError(400, 'detail.id: must be a GuardDuty finding id'), 400)).toBe('detail.id: must be a GuardDuty finding id');
  });
});
