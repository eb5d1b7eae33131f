import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compilePattern,
  InvalidPatternError,
  matches,
  SUPPORTED_OPERATORS,
  UnsupportedPatternError,
  validatePattern,
  type EventPattern,
} from '../../local/event-pattern.ts';

const fixtures = path.resolve(process.cwd(), '../shared/fixtures');

function loadJson<T>(relative: string): T {
  return JSON.parse(readFileSync(path.join(fixtures, relative), 'utf8')) as T;
}

/** Runs `act` and returns what it threw (fails the test if it threw nothing). */
function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, nothing was thrown');
}

// -----------------------------------------------------------------------------------------------
// AWS Event Ruler test vectors

type AssertionApi = 'Ruler.matchesRule' | 'Machine.rulesForJSONEvent' | 'Machine.rulesForEvent';

interface RulerCase {
  id: string;
  pattern: EventPattern;
  event: Record<string, unknown>;
  matches: boolean;
  operators: string[];
  note?: string;
  source: { method: string; assertion_api: AssertionApi; path: string };
}

interface RulerCases {
  case_count: number;
  cases: RulerCase[];
}

const rulerCases = loadJson<RulerCases>('event-patterns/event_ruler_cases.json');

/**
 * Ruler.matchesRule and Machine.rulesForJSONEvent are array-consistent (fields of one nested
 * pattern object must come from the same array element); the deprecated Machine.rulesForEvent
 * flattens arrays. Each case is checked with the semantics of the API its test asserted with.
 */
const isArrayConsistent = (c: RulerCase) => c.source.assertion_api !== 'Machine.rulesForEvent';

const rows = rulerCases.cases.map((c, index) => ({
  name: `${c.source.method}#${c.id.split('#').pop()} (case ${index}, ${c.source.assertion_api}) → ${c.matches}`,
  c,
}));

describe('event_ruler_cases.json (AWS Event Ruler expectations)', () => {
  it('holds the 212 documented cases, all using operators we support', () => {
    expect(rulerCases.cases).toHaveLength(212);
    expect(rulerCases.case_count).toBe(212);
    const used = new Set(rulerCases.cases.flatMap((c) => c.operators));
    for (const op of used) {
      // The fixture calls plain-value matching "equals"; we call it "exact".
      expect(SUPPORTED_OPERATORS).toContain(op === 'equals' ? 'exact' : op);
    }
  });

  // A plain loop rather than it.each: it.each's $name interpolation truncates long names.
  for (const { name, c } of rows) {
    it(name, () => {
      const options = { arrayConsistent: isArrayConsistent(c) };

      expect(matches(c.pattern, c.event, options)).toBe(c.matches);
      expect(compilePattern(c.pattern, options)(c.event)).toBe(c.matches);
    });
  }

  it('gives the same answers for the flattened-API cases with array-consistent matching (they hold no arrays of objects)', () => {
    const flattenedCases = rulerCases.cases.filter((c) => !isArrayConsistent(c));
    expect(flattenedCases.length).toBeGreaterThan(0);

    for (const c of flattenedCases) {
      expect(matches(c.pattern, c.event), c.id).toBe(c.matches);
    }
  });
});

// -----------------------------------------------------------------------------------------------
// Array consistency, made visible

describe('arrays of objects', () => {
  const employees = {
    employees: [
      [
        { firstName: 'John', lastName: 'Doe', ids: [1234, 1000, 9999] },
        { firstName: 'Anna', lastName: 'Smith' },
      ],
      [{ firstName: 'Peter', lastName: 'Jones', ids: [] }],
    ],
  };

  it('by default refuses a match whose fields come from different array elements', () => {
    const annaJones = { employees: { firstName: ['Anna'], lastName: ['Jones'] } };

    expect(matches(annaJones, employees)).toBe(false);
    expect(matches(annaJones, employees, { arrayConsistent: false })).toBe(true);
  });

  it('checks exists:false against the same element as the other fields', () => {
    const annaWithoutIds = { employees: { firstName: ['Anna'], ids: [{ exists: false }] } };

    expect(matches(annaWithoutIds, employees)).toBe(true);
    // Flattened, "ids" exists somewhere under employees, so the rule fails.
    expect(matches(annaWithoutIds, employees, { arrayConsistent: false })).toBe(false);
  });

  it('matches fields of one element through nested arrays', () => {
    expect(matches({ employees: { firstName: ['John'], ids: [1000] } }, employees)).toBe(true);
    expect(matches({ employees: { firstName: ['Anna'], ids: [1000] } }, employees)).toBe(false);
  });

  it('treats an empty array as a field without a value', () => {
    const peter = { employees: { firstName: ['Peter'], ids: [{ exists: false }] } };
    const peterWithIds = { employees: { firstName: ['Peter'], ids: [{ exists: true }] } };

    expect(matches(peter, employees)).toBe(true);
    expect(matches(peterWithIds, employees)).toBe(false);
  });

  it('matches a scalar array when any element matches any alternative (non-empty intersection)', () => {
    const pattern = { tags: ['b', 'z'] };

    expect(matches(pattern, { tags: ['a', 'b', 'c'] })).toBe(true);
    expect(matches(pattern, { tags: ['a', 'c'] })).toBe(false);
    expect(matches(pattern, { tags: [] })).toBe(false);
  });
});

// -----------------------------------------------------------------------------------------------
// GuardDuty: the events this project reacts to

describe('GuardDuty finding rule', () => {
  const rule = { source: ['aws.guardduty'], 'detail-type': ['GuardDuty Finding'] };
  const isFinding = compilePattern(rule);

  it('matches a full EventBridge delivery of a GuardDuty finding', () => {
    const event = loadJson<unknown>(
      'guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json',
    );

    expect(isFinding(event)).toBe(true);
  });

  it('does not match the aws.guardduty CloudTrail API-call event', () => {
    // The SumoLogic sample has source "aws.guardduty" but detail-type "AWS API Call via
    // CloudTrail" (CreateSampleFindings): the fixtures README lists it as the negative case.
    const event = loadJson<Record<string, unknown>>(
      'guardduty/findings/sumologic_cloudwatchevents_guardduty_event.json',
    );

    expect(event['detail-type']).toBe('AWS API Call via CloudTrail');
    expect(isFinding(event)).toBe(false);
  });

  it('does not match a bare finding without the EventBridge envelope', () => {
    const finding = loadJson<unknown>(
      'guardduty/findings/amazon-guardduty-automated-response-sample_guardduty_ec2_event.json',
    );

    expect(isFinding(finding)).toBe(false);
  });

  it('narrows on fields inside the finding', () => {
    const event = loadJson<unknown>(
      'guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json',
    );
    // Backdoor:EC2/Spambot is a medium-severity (5) finding.
    const ec2Backdoor = {
      ...rule,
      detail: { type: [{ prefix: 'Backdoor:EC2/' }], severity: [{ numeric: ['>=', 4, '<', 7] }] },
    };
    const s3Only = { ...rule, detail: { type: [{ wildcard: '*:S3/*' }] } };

    expect(matches(ec2Backdoor, event)).toBe(true);
    expect(matches(s3Only, event)).toBe(false);
  });
});

// -----------------------------------------------------------------------------------------------
// Examples from the EventBridge User Guide (awsdocs/*.md)

describe('EventBridge User Guide examples', () => {
  const ec2StateChange = {
    version: '0',
    id: '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '123456789012',
    time: '2015-11-11T21:29:54Z',
    region: 'us-east-1',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
    detail: { 'instance-id': 'i-abcd1111', state: 'pending' },
  };
  const autoscalingLaunch = {
    version: '0',
    id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
    'detail-type': 'EC2 Instance Launch Successful',
    source: 'aws.autoscaling',
    account: '123456789012',
    time: '2015-11-11T21:31:47Z',
    region: 'us-east-1',
    resources: [],
    detail: { eventVersion: '', responseElements: null },
  };

  it('matches field values with the same nesting (EC2 termination)', () => {
    const pattern = {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    };

    expect(matches(pattern, { ...ec2StateChange, detail: { state: 'terminated' } })).toBe(true);
    expect(matches(pattern, ec2StateChange)).toBe(false);
  });

  it('matches numbers in nested objects (Macie severity and count)', () => {
    const pattern = {
      source: ['aws.macie'],
      'detail-type': ['Macie Finding'],
      detail: { severity: { score: [1] }, count: [2] },
    };
    const event = {
      source: 'aws.macie',
      'detail-type': 'Macie Finding',
      detail: { severity: { score: 1, description: 'Low' }, count: 2 },
    };

    expect(matches(pattern, event)).toBe(true);
    expect(matches(pattern, { ...event, detail: { ...event.detail, count: 3 } })).toBe(false);
  });

  it('keeps null and empty string apart', () => {
    const emptyVersion = { detail: { eventVersion: [''] } };
    const nullResponse = { detail: { responseElements: [null] } };

    expect(matches(emptyVersion, autoscalingLaunch)).toBe(true);
    expect(matches(nullResponse, autoscalingLaunch)).toBe(true);
    expect(matches({ detail: { eventVersion: [null] } }, autoscalingLaunch)).toBe(false);
    expect(matches({ detail: { responseElements: [''] } }, autoscalingLaunch)).toBe(false);
    // A missing field is neither null nor "".
    expect(matches({ detail: { missing: [null] } }, autoscalingLaunch)).toBe(false);
    expect(matches({ detail: { missing: [''] } }, autoscalingLaunch)).toBe(false);
  });

  it('matches arrays by intersection (resources)', () => {
    const pattern = {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    };
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };

    expect(matches(pattern, event)).toBe(true);
  });

  it('matches prefix and suffix on strings only', () => {
    expect(matches({ time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(matches({ time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-03T18:43:48Z' })).toBe(false);
    expect(matches({ FileName: [{ suffix: '.png' }] }, { FileName: 'photo.png' })).toBe(true);
    expect(matches({ FileName: [{ suffix: '.png' }] }, { FileName: 'photo.PNG' })).toBe(false);
    expect(matches({ n: [{ prefix: '12' }] }, { n: 123 })).toBe(false);
  });

  it('matches prefix and suffix ignoring case when asked', () => {
    expect(matches({ f: [{ suffix: { 'equals-ignore-case': '.png' } }] }, { f: 'PHOTO.PNG' })).toBe(true);
    expect(matches({ f: [{ prefix: { 'equals-ignore-case': 'ec2' } }] }, { f: 'EC2 Instance' })).toBe(true);
    expect(matches({ f: [{ prefix: { 'equals-ignore-case': 'ec2' } }] }, { f: 'S3 Bucket' })).toBe(false);
  });

  it('matches anything-but with strings, numbers, lists and prefixes', () => {
    const notInitializing = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    const notLimit123 = { detail: { 'x-limit': [{ 'anything-but': 123 }] } };
    const notStoppedOrOverloaded = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    const notRoundLimit = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    const notInitPrefix = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };

    expect(matches(notInitializing, { detail: { state: 'running' } })).toBe(true);
    expect(matches(notInitializing, { detail: { state: 'initializing' } })).toBe(false);
    expect(matches(notLimit123, { detail: { 'x-limit': 124 } })).toBe(true);
    expect(matches(notLimit123, { detail: { 'x-limit': 123 } })).toBe(false);
    expect(matches(notStoppedOrOverloaded, { detail: { state: 'overloaded' } })).toBe(false);
    expect(matches(notStoppedOrOverloaded, { detail: { state: 'running' } })).toBe(true);
    expect(matches(notRoundLimit, { detail: { 'x-limit': 200 } })).toBe(false);
    expect(matches(notRoundLimit, { detail: { 'x-limit': 250 } })).toBe(true);
    expect(matches(notInitPrefix, { detail: { state: 'initialized' } })).toBe(false);
    expect(matches(notInitPrefix, { detail: { state: 'pending' } })).toBe(true);
  });

  it('matches numeric ranges', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };

    expect(matches(pattern, { detail: { 'c-count': 5, 'd-count': 9.99, 'x-limit': 301.8 } })).toBe(true);
    expect(matches(pattern, { detail: { 'c-count': 0, 'd-count': 9, 'x-limit': 301.8 } })).toBe(false);
    expect(matches(pattern, { detail: { 'c-count': 1, 'd-count': 10, 'x-limit': 301.8 } })).toBe(false);
    expect(matches(pattern, { detail: { 'c-count': 1, 'd-count': 1, 'x-limit': 301.81 } })).toBe(false);
    // Numeric matching only works on JSON numbers.
    expect(matches(pattern, { detail: { 'c-count': '1', 'd-count': 1, 'x-limit': 301.8 } })).toBe(false);
  });

  it('matches IPv4 CIDR blocks', () => {
    const pattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };

    expect(matches(pattern, { detail: { sourceIPAddress: '10.0.0.255' } })).toBe(true);
    expect(matches(pattern, { detail: { sourceIPAddress: '10.0.1.0' } })).toBe(false);
    expect(matches(pattern, { detail: { sourceIPAddress: 'not an address' } })).toBe(false);
  });

  it('matches exists on leaf fields (the two documented events)', () => {
    const pattern = { detail: { state: [{ exists: true }] } };
    const withoutState = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
      detail: { 'c-count': { c1: 100 } },
    };

    expect(matches(pattern, ec2StateChange)).toBe(true);
    expect(matches(pattern, withoutState)).toBe(false);
  });

  it('matches equals-ignore-case (the documented event, whose detail-type is an array)', () => {
    const pattern = { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] };
    const event = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
      detail: { 'c-count': { c1: 100 } },
    };

    expect(matches(pattern, event)).toBe(true);
    expect(matches(pattern, { 'detail-type': 'EC2 Instance State-change' })).toBe(false);
  });

  it('matches the complex example combining several operators', () => {
    const pattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    const event = {
      time: '2017-10-02T16:24:49Z',
      detail: { state: 'running', 'c-count': 5, 'd-count': 3, 'x-limit': 301.8 },
    };

    expect(matches(pattern, event)).toBe(true);
    expect(matches(pattern, { ...event, detail: { ...event.detail, 'x-limit': 300 } })).toBe(false);
  });

  it('uses the last of duplicate keys (JSON.parse keeps the last, as EventBridge does)', () => {
    const pattern = JSON.parse(
      '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}',
    ) as EventPattern;

    expect(matches(pattern, { detail: { location: 'eu-west' } })).toBe(true);
    expect(matches(pattern, { detail: { location: 'us-east' } })).toBe(false);
  });

  it('matches $or across fields', () => {
    const pattern = {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    };

    expect(matches(pattern, { detail: { 'c-count': 3 } })).toBe(true);
    expect(matches(pattern, { detail: { 'c-count': 30, 'x-limit': 301.8 } })).toBe(true);
    expect(matches(pattern, { detail: { 'c-count': 30, 'd-count': 10, 'x-limit': 300 } })).toBe(false);
  });
});

// -----------------------------------------------------------------------------------------------
// Finer points

describe('value matching', () => {
  it('is type-strict for exact values', () => {
    expect(matches({ x: [true] }, { x: 'true' })).toBe(false);
    expect(matches({ x: ['1'] }, { x: 1 })).toBe(false);
    expect(matches({ x: [1] }, { x: '1' })).toBe(false);
    expect(matches({ x: [null] }, { x: 'null' })).toBe(false);
    expect(matches({ x: [false] }, { x: false })).toBe(true);
  });

  it('compares plain numbers by value, since JSON.parse has already normalized 300.0 to 300', () => {
    // EventBridge compares number text and would say 300 ≠ 300.0; parsed JSON cannot tell them apart.
    expect(matches({ x: [300] }, JSON.parse('{"x": 300.0}'))).toBe(true);
  });

  it('is case-sensitive unless equals-ignore-case is used', () => {
    expect(matches({ s: ['Running'] }, { s: 'running' })).toBe(false);
    expect(matches({ s: [{ 'equals-ignore-case': 'Running' }] }, { s: 'rUNNING' })).toBe(true);
    expect(matches({ s: [{ 'equals-ignore-case': '1' }] }, { s: 1 })).toBe(false);
  });

  it('treats exists as a question about leaf values', () => {
    // null is a value; an object is not a leaf (User Guide: exists "only works on leaf nodes").
    expect(matches({ x: [{ exists: true }] }, { x: null })).toBe(true);
    expect(matches({ x: [{ exists: true }] }, { x: { y: 1 } })).toBe(false);
    expect(matches({ x: [{ exists: false }] }, { x: { y: 1 } })).toBe(true);
    expect(matches({ x: [{ exists: false }] }, { x: [] })).toBe(true);
    expect(matches({ a: { b: [{ exists: false }] } }, {})).toBe(true);
    expect(matches({ a: { b: [{ exists: true }] } }, {})).toBe(false);
  });

  it('combines exists:false with other alternatives as an OR', () => {
    const pattern = { x: [{ exists: false }, 'a'] };

    expect(matches(pattern, {})).toBe(true);
    expect(matches(pattern, { x: 'a' })).toBe(true);
    expect(matches(pattern, { x: 'b' })).toBe(false);
  });

  it('never matches anything-but on a missing field, and excludes by type', () => {
    expect(matches({ x: [{ 'anything-but': 'a' }] }, {})).toBe(false);
    expect(matches({ x: [{ 'anything-but': [111, 222] }] }, { x: '111' })).toBe(true);
    expect(matches({ x: [{ 'anything-but': { prefix: 'ab' } }] }, { x: 123 })).toBe(true);
    expect(matches({ x: [{ 'anything-but': { suffix: 'ing' } }] }, { x: 'pending' })).toBe(false);
    expect(matches({ x: [{ 'anything-but': { wildcard: ['*.tmp', 'core*'] } }] }, { x: 'core.1' })).toBe(false);
    expect(matches({ x: [{ 'anything-but': { wildcard: ['*.tmp', 'core*'] } }] }, { x: 'a.log' })).toBe(true);
    expect(matches({ x: [{ 'anything-but': { 'equals-ignore-case': ['A', 'b'] } }] }, { x: 'B' })).toBe(false);
  });

  it('matches anything-but on an array when some element is not excluded', () => {
    expect(matches({ x: [{ 'anything-but': 'a' }] }, { x: ['a', 'b'] })).toBe(true);
    expect(matches({ x: [{ 'anything-but': 'a' }] }, { x: ['a', 'a'] })).toBe(false);
  });

  it('matches wildcards with escapes', () => {
    const literalStar = { s: [{ wildcard: 'a\\*b' }] };
    const literalBackslash = { s: [{ wildcard: 'C:\\\\*' }] };

    expect(matches(literalStar, { s: 'a*b' })).toBe(true);
    expect(matches(literalStar, { s: 'axb' })).toBe(false);
    expect(matches(literalBackslash, { s: 'C:\\Windows' })).toBe(true);
    expect(matches({ s: [{ wildcard: '*' }] }, { s: '' })).toBe(true);
    expect(matches({ s: [{ wildcard: 'a*a' }] }, { s: 'a' })).toBe(false);
    expect(matches({ s: [{ wildcard: 'a*b*a' }] }, { s: 'abba' })).toBe(true);
    expect(matches({ s: [{ wildcard: 'arn:aws:s3:::*/logs/*' }] }, { s: 'arn:aws:s3:::bucket/logs/x' })).toBe(true);
    expect(matches({ s: [{ wildcard: 'A*' }] }, { s: 'abc' })).toBe(false);
  });

  it('matches IPv6 CIDR blocks and keeps address families apart', () => {
    const v6 = { ip: [{ cidr: '2001:db8::/32' }] };

    expect(matches(v6, { ip: '2001:DB8:0:0:1::1' })).toBe(true);
    expect(matches(v6, { ip: '2001:db8::' })).toBe(true);
    expect(matches(v6, { ip: '2001:db9::1' })).toBe(false);
    expect(matches(v6, { ip: '10.0.0.1' })).toBe(false);
    expect(matches({ ip: [{ cidr: '::ffff:10.0.0.0/120' }] }, { ip: '::ffff:10.0.0.7' })).toBe(true);
    expect(matches({ ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '::ffff:10.0.0.7' })).toBe(false);
    expect(matches({ ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '203.0.113.9' })).toBe(true);
    expect(matches({ ip: [{ cidr: '203.0.113.9/32' }] }, { ip: '203.0.113.9' })).toBe(true);
    expect(matches({ ip: [{ cidr: '203.0.113.9/32' }] }, { ip: '203.0.113.10' })).toBe(false);
  });

  it('looks only at the event’s own fields', () => {
    expect(matches({ constructor: [{ exists: true }] }, {})).toBe(false);
    expect(matches({ toString: [{ exists: false }] }, {})).toBe(true);
  });

  it('does not match events that are not JSON objects', () => {
    const isAnything = compilePattern({ x: [{ exists: false }] });

    expect(isAnything({})).toBe(true);
    expect(isAnything(null)).toBe(false);
    expect(isAnything('{}')).toBe(false);
    expect(isAnything([{}])).toBe(false);
  });

  it('reuses a compiled pattern across events', () => {
    const isRunning = compilePattern({ detail: { state: ['running'] } });

    expect(isRunning({ detail: { state: 'running' } })).toBe(true);
    expect(isRunning({ detail: { state: 'stopped' } })).toBe(false);
    expect(isRunning({ detail: [{ state: 'stopped' }, { state: 'running' }] })).toBe(true);
  });
});

// -----------------------------------------------------------------------------------------------
// Errors

describe('unsupported operators', () => {
  const unsupported = [
    { pattern: { a: [{ regex: '^x' }] }, operator: 'regex', path: '$.a[0]' },
    { pattern: { detail: { s: [{ exact: 'x' }] } }, operator: 'exact', path: '$.detail.s[0]' },
    { pattern: { a: [{ 'anything-but': { numeric: ['>', 1] } }] }, operator: 'numeric', path: '$.a[0]["anything-but"]' },
    { pattern: { a: [{ prefix: { wildcard: 'x*' } }] }, operator: 'wildcard', path: '$.a[0].prefix' },
    { pattern: { a: [{ 'anything-but': { exists: true } }] }, operator: 'exists', path: '$.a[0]["anything-but"]' },
  ];

  for (const { pattern, operator, path } of unsupported) {
    it(`throws UnsupportedPatternError naming "${operator}" at ${path}, from every entry point`, () => {
      for (const act of [() => validatePattern(pattern), () => compilePattern(pattern), () => matches(pattern, {})]) {
        const error = thrownBy(act);

        expect(error).toBeInstanceOf(UnsupportedPatternError);
        expect(error).toMatchObject({ name: 'UnsupportedPatternError', operator, path });
        expect((error as Error).message).toContain(`"${operator}"`);
        expect((error as Error).message).toContain(path);
      }
    });
  }
});

describe('invalid patterns', () => {
  const invalid = [
    { why: 'a non-array leaf', pattern: { detail: { state: 'running' } }, path: '$.detail.state' },
    { why: 'a non-array leaf under a hyphenated key', pattern: { 'detail-type': 'GuardDuty Finding' }, path: '$["detail-type"]' },
    { why: 'a number leaf', pattern: { detail: { severity: 8 } }, path: '$.detail.severity' },
    { why: 'an empty value array', pattern: { source: [] }, path: '$.source' },
    { why: 'an empty pattern', pattern: {}, path: '$' },
    { why: 'an empty nested object', pattern: { detail: {} }, path: '$.detail' },
    { why: 'a nested array in the values', pattern: { a: [['x']] }, path: '$.a[0]' },
    { why: 'two operators in one object', pattern: { a: [{ prefix: 'x', suffix: 'y' }] }, path: '$.a[0]' },
    { why: 'a non-string prefix', pattern: { a: [{ prefix: 5 }] }, path: '$.a[0].prefix' },
    { why: 'a non-boolean exists', pattern: { a: [{ exists: 'yes' }] }, path: '$.a[0].exists' },
    { why: 'a string numeric bound', pattern: { a: [{ numeric: ['>', '5'] }] }, path: '$.a[0].numeric[1]' },
    { why: 'an unknown numeric operator', pattern: { a: [{ numeric: ['!=', 5] }] }, path: '$.a[0].numeric[0]' },
    { why: 'two lower bounds', pattern: { a: [{ numeric: ['>', 1, '>=', 5] }] }, path: '$.a[0].numeric' },
    { why: 'an inverted range', pattern: { a: [{ numeric: ['>', 9, '<', 5] }] }, path: '$.a[0].numeric' },
    { why: 'a mixed anything-but list', pattern: { a: [{ 'anything-but': ['x', 1] }] }, path: '$.a[0]["anything-but"]' },
    { why: 'an anything-but prefix list', pattern: { a: [{ 'anything-but': { prefix: ['x', 'y'] } }] }, path: '$.a[0]["anything-but"].prefix' },
    { why: 'a boolean anything-but', pattern: { a: [{ 'anything-but': true }] }, path: '$.a[0]["anything-but"]' },
    { why: 'a bad CIDR', pattern: { ip: [{ cidr: '10.0.0.300/24' }] }, path: '$.ip[0].cidr' },
    { why: 'a CIDR prefix too long', pattern: { ip: [{ cidr: '10.0.0.0/33' }] }, path: '$.ip[0].cidr' },
    { why: 'consecutive wildcards', pattern: { s: [{ wildcard: 'a**b' }] }, path: '$.s[0].wildcard' },
    { why: 'a bad wildcard escape', pattern: { s: [{ wildcard: 'a\\b' }] }, path: '$.s[0].wildcard' },
    { why: 'an $or with one branch', pattern: { $or: [{ a: ['x'] }] }, path: '$.$or' },
    { why: 'an $or branch that is not an object', pattern: { $or: [{ a: ['x'] }, ['y']] }, path: '$.$or[1]' },
  ];

  for (const { why, pattern, path } of invalid) {
    it(`rejects ${why}, naming ${path}`, () => {
      const error = thrownBy(() => validatePattern(pattern));

      expect(error).toBeInstanceOf(InvalidPatternError);
      expect(error).toMatchObject({ name: 'InvalidPatternError', path });
      expect((error as Error).message).toContain(path);
      expect(() => matches(pattern, {})).toThrow(InvalidPatternError);
    });
  }

  it('rejects a pattern that is not an object', () => {
    expect(() => validatePattern('{"source": ["aws.ec2"]}')).toThrow(InvalidPatternError);
    expect(() => validatePattern(null)).toThrow(InvalidPatternError);
    expect(() => compilePattern([{ source: ['aws.ec2'] }])).toThrow(InvalidPatternError);
  });

  it('rejects $or that expands to more than 1000 rule combinations', () => {
    const tenWays = { $or: Array.from({ length: 10 }, (_, i) => ({ [`f${i}`]: ['x'] })) };
    const thousand = { a: tenWays, b: tenWays, c: tenWays };
    const tooMany = { ...thousand, d: { $or: [{ x: ['1'] }, { y: ['2'] }] } };

    expect(() => validatePattern(thousand)).not.toThrow();
    expect(() => validatePattern(tooMany)).toThrow(/2000 rule combinations/);
  });

  it('returns a valid pattern unchanged', () => {
    const pattern = { source: ['aws.guardduty'], detail: { severity: [{ numeric: ['>=', 7] }] } };

    expect(validatePattern(pattern)).toBe(pattern);
  });
});

describe('SUPPORTED_OPERATORS', () => {
  it('lists every implemented operator', () => {
    expect([...SUPPORTED_OPERATORS].sort()).toEqual(
      ['$or', 'anything-but', 'cidr', 'equals-ignore-case', 'exact', 'exists', 'numeric', 'prefix', 'suffix', 'wildcard'].sort(),
    );
  });
});
