import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerlessDefinition } from '../../local/serverless-config.ts';
import type { LocalSystem } from '../../local/system.ts';
import { startTestSystem } from '../helpers/local-system.ts';

/**
 * Lambda's asynchronous invocation in the local runtime: an event a function cannot process is
 * tried as often as its maximumRetryAttempts says and then sent to its failure destination (the
 * dead-letter queue in serverless.yml), which the function's own role must allow it to send to
 * (sqs:SendMessage on the queue): a role without it loses the event on AWS, silently.
 */
/** The functions serverless.yml gives a failure destination (destinations.onFailure). */
const WITH_DESTINATION = [...loadServerlessDefinition().functions.values()].filter((f) => f.onFailureDestination !== undefined).map((f) => f.name);

let system: LocalSystem;
beforeAll(async () => { system = await startTestSystem(); }, 60_000);
afterAll(async () => { await system?.close(); });

describe('failure destinations: every asynchronously invoked function dead-letters what it cannot process', () => {
  it('has functions with a failure destination to check', () => {
    expect(WITH_DESTINATION.length).toBeGreaterThan(5);
  });

  it.each(WITH_DESTINATION)('%s sends an event it refuses to its dead-letter queue, allowed by its role', async (functionName) => {
    // Prepare: an event no rule of Cleanpoint's would deliver (not a finding, not a schedule)
    const event = { version: '0', id: 'test-bad', source: 'cleanpoint.test', 'detail-type': 'Not An Event Cleanpoint Knows', detail: 'x', time: 'not a time' };

    // Act
    const d = await system.rt.invokeAsync(functionName, event);

    // Assess
    expect(d.status).toBe('failed');
    expect(d.error).toMatch(/^(ValidationError|UnsupportedEventError): /);
    expect(d.failureDestination).toEqual({ arn: 'arn:aws:sqs:us-east-1:000000000000:DeadLetterQueue', sent: true });
  });
});

