import { describe, expect, it } from 'vitest';
import { UnsupportedEventError, ValidationError } from '../../domain/shared/index.ts';
import { earliestEvidenceMs, parseFinding, parseFindingText, severityLabel, type Finding } from '../../domain/findings/index.ts';
import {
  ACCOUNT_ID, INSTANCES, REGION, listSharedFixtures, loadSharedFixture, loadTestEvent, makeEvent, makeFinding,
  readSharedFixtureText,
} from '../helpers/fixtures.ts';

const FINDINGS_DIR = 'guardduty/findings';

/** Run `act` and return what it threw (fails the test when nothing is thrown). */
function thrown(act: () => unknown): Error {
  try {
    act();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but nothing was thrown');
}

type Expected = Pick<Finding, 'id' | 'type' | 'threatPurpose' | 'severityLabel' | 'sample' | 'resourceType' | 'instanceIds' | 'region' | 'accountId'>;

/** What each real-world sample must normalise to (or the problem its rejection must name). */
const SHARED_SAMPLES: Record<string, { parsed: Expected & { archived: boolean } } | { rejected: { name: string; mentions: RegExp } }> = {
  'amazon-guardduty-automated-response-sample_guardduty_ec2_event.json': {
    parsed: {
      id: '16afba5c5c43e07c9e3e5e2e544e95df', type: 'Canary:EC2/Stateless.IntegTest', threatPurpose: 'Canary',
      severityLabel: 'Medium', sample: false, resourceType: 'Instance', instanceIds: ['i-05746eb48123455e0'],
      region: 'us-east-1', accountId: '123456789012', archived: false,
    },
  },
  'amazon-guardduty-automated-response-sample_guardduty_iam_event.json': {
    parsed: {
      id: '30bf285e52a1e405084ff6ec28e06e17', type: 'Recon:IAMUser/MaliciousIPCaller.Custom', threatPurpose: 'Recon',
      severityLabel: 'Medium', sample: true, resourceType: 'AccessKey', instanceIds: ['i-99999999'],
      region: 'us-east-1', accountId: '123456789012', archived: true,
    },
  },
  'amazon-guardduty-automated-response-sample_guardduty_s3_event.json': {
    parsed: {
      id: '2cbf285e52a6e74ff96f4cb3cf93296d', type: 'PenTest:S3/ParrotLinux', threatPurpose: 'PenTest',
      severityLabel: 'Medium', sample: true, resourceType: 'S3Bucket', instanceIds: ['i-99999999'],
      region: 'us-east-1', accountId: '123456789012', archived: true,
    },
  },
  'o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json': {
    parsed: {
      id: '7ebc050b71c556086b524045c9067feb', type: 'Backdoor:EC2/Spambot', threatPurpose: 'Backdoor',
      severityLabel: 'Medium', sample: true, resourceType: 'Instance', instanceIds: ['i-99999999'],
      region: 'ca-central-1', accountId: '303697492861', archived: false,
    },
  },
  'sumologic_cloudwatchevents_guardduty_event.json': {
    rejected: { name: 'UnsupportedEventError', mentions: /detail-type.*AWS API Call via CloudTrail/ },
  },
};

describe('parseFinding on the real-world samples', () => {
  it('knows every file in the shared findings folder', () => {
    // Prepare
    const files = listSharedFixtures(FINDINGS_DIR);
    // Assess: a new sample must get an expectation here (the partial envelope has its own test)
    const known = [...Object.keys(SHARED_SAMPLES), 'amazon-guardduty-waf-acl_gd2acl_test_event.json'].sort();
    expect(files).toEqual(known);
  });

  for (const [file, expected] of Object.entries(SHARED_SAMPLES)) {
    if ('parsed' in expected) {
      it(`normalises ${file}`, () => {
        // Prepare
        const text = readSharedFixtureText(`${FINDINGS_DIR}/${file}`);
        // Act
        const finding = parseFindingText(text);
        // Assess
        expect(finding).toMatchObject(expected.parsed);
        expect(Date.parse(finding.firstSeen)).not.toBeNaN();
      });
    } else {
      it(`rejects ${file} naming the problem`, () => {
        // Prepare
        const text = readSharedFixtureText(`${FINDINGS_DIR}/${file}`);
        // Act
        const error = thrown(() => parseFindingText(text));
        // Assess
        expect(error.name).toBe(expected.rejected.name);
        expect(error.message).toMatch(expected.rejected.mentions);
      });
    }
  }

  it('rejects the CloudTrail API call from aws.guardduty as an unsupported detail-type', () => {
    // Prepare
    const event = loadSharedFixture<Record<string, unknown>>(`${FINDINGS_DIR}/sumologic_cloudwatchevents_guardduty_event.json`);
    // Act
    const error = thrown(() => parseFinding(event));
    // Assess
    expect(error).toBeInstanceOf(UnsupportedEventError);
    expect(error.message).toContain('detail-type');
    expect(error.message).toContain('GuardDuty Finding');
  });

  it('accepts the partial envelope (region + detail only) as a finding', () => {
    // Prepare: spec case (c), "an object whose detail is a finding even when other envelope
    // fields are missing". Its detail carries no accountId and the envelope no account.
    const event = loadSharedFixture(`${FINDINGS_DIR}/amazon-guardduty-waf-acl_gd2acl_test_event.json`);
    // Act
    const finding = parseFinding(event);
    // Assess
    expect(finding).toMatchObject({
      id: '02be5693b63eea1d67e6f321c6aee4f3', type: 'UnauthorizedAccess:EC2/SSHBruteForce',
      threatPurpose: 'UnauthorizedAccess', severity: 2, severityLabel: 'Low', sample: true,
      resourceType: 'Instance', instanceIds: ['i-99999999'], region: 'us-east-1',
    });
    expect(typeof finding.accountId).toBe('string');
  });

  it('keeps instance tags as a key/value map', () => {
    // Prepare
    const event = loadSharedFixture(`${FINDINGS_DIR}/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json`);
    // Act
    const finding = parseFinding(event);
    // Assess
    expect(Object.keys(finding.tags)).toHaveLength(9);
    expect(finding.tags['GeneratedFindingInstaceTag1']).toBe('GeneratedFindingInstaceValue1');
  });
});

describe('parseFinding on our own event variants', () => {
  it('reads a ransomware-like Impact finding on a protected instance from a full EventBridge event', () => {
    // Prepare
    const event = loadTestEvent('guardduty', 'impact-ec2-high-protected');
    // Act
    const finding = parseFinding(event);
    // Assess
    expect(finding).toMatchObject({
      type: 'Impact:EC2/MaliciousDomainRequest.Reputation', threatPurpose: 'Impact', severity: 8.5,
      severityLabel: 'High', sample: false, archived: false, count: 14, instanceIds: [INSTANCES.paymentsDb],
      firstSeen: '2024-06-12T02:51:09.000Z', lastSeen: '2024-06-12T03:12:40.000Z', createdAt: '2024-06-12T03:02:31.118Z',
    });
    expect(finding.tags).toEqual({ Name: 'payments-db-1', 'cleanpoint:machine': 'payments-db', backup: '' });
  });

  it('reads an archived finding as archived', () => {
    // Prepare
    const event = loadTestEvent('guardduty', 'archived-backdoor');
    // Act
    const finding = parseFinding(event);
    // Assess
    expect(finding.archived).toBe(true);
    expect(finding.instanceIds).toEqual([INSTANCES.paymentsApi]);
  });

  it('reads a Container finding with the instance it runs on', () => {
    // Prepare
    const event = loadTestEvent('guardduty', 'container-cryptominer');
    // Act
    const finding = parseFinding(event);
    // Assess
    expect(finding).toMatchObject({ resourceType: 'Container', threatPurpose: 'CryptoCurrency', severityLabel: 'High', instanceIds: [INSTANCES.ledgerWorker] });
  });

  it('fills account and region of a partial envelope from its top-level fields and normalises offsets to UTC', () => {
    // Prepare
    const event = loadTestEvent('guardduty', 'sample-backdoor-partial-envelope');
    // Act
    const finding = parseFinding(event);
    // Assess
    expect(finding).toMatchObject({ accountId: ACCOUNT_ID, region: REGION, sample: true, firstSeen: '2024-06-09T06:00:00.000Z' });
  });

  it('reads a bare finding saved on its own', () => {
    // Prepare
    const bare = loadTestEvent('guardduty', 'tagged-replacement-instance');
    // Act
    const finding = parseFinding(bare);
    // Assess
    expect(finding).toMatchObject({ threatPurpose: 'Execution', tags: { 'cleanpoint:machine': 'reporting-etl' } });
  });

  it('hands out a fresh copy of a fixture on every load', () => {
    // Prepare
    const first = loadTestEvent<{ detail: { severity: number } }>('guardduty', 'impact-ec2-high-protected');
    // Act
    first.detail.severity = 1;
    const second = loadTestEvent<{ detail: { severity: number } }>('guardduty', 'impact-ec2-high-protected');
    // Assess
    expect(second.detail.severity).toBe(8.5);
  });
});

describe('parseFinding', () => {
  it('accepts the same finding bare, in a full event and in a detail-only envelope', () => {
    // Prepare
    const bare = makeFinding();
    // Act
    const results = [parseFinding(bare), parseFinding(makeEvent(makeFinding())), parseFinding({ detail: makeFinding() })];
    // Assess
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('normalises every field the rest of Cleanpoint reads', () => {
    // Prepare
    const raw = makeFinding();
    // Act
    const finding = parseFinding(raw);
    // Assess
    expect(finding).toEqual({
      id: raw.id, type: 'Backdoor:EC2/C&CActivity.B', threatPurpose: 'Backdoor', resourceType: 'Instance',
      severity: 8, severityLabel: 'High', sample: false, archived: false,
      firstSeen: '2024-05-01T09:30:00.000Z', lastSeen: '2024-05-01T09:41:27.000Z',
      createdAt: '2024-05-01T09:45:12.000Z', updatedAt: '2024-05-01T09:47:00.000Z',
      count: 3, region: REGION, accountId: ACCOUNT_ID, instanceIds: [INSTANCES.paymentsDb],
      tags: { Name: 'payments-db-1', env: 'prod' }, title: raw.title,
    });
  });

  it('defaults lastSeen to firstSeen, count to 1 and archived to false when GuardDuty omits them', () => {
    // Prepare
    const raw = makeFinding({ service: { eventLastSeen: undefined, count: undefined, archived: undefined } });
    // Act
    const finding = parseFinding(raw);
    // Assess
    expect(finding).toMatchObject({ lastSeen: finding.firstSeen, count: 1, archived: false });
  });

  it('marks a finding as a sample only when additionalInfo.sample is true', () => {
    // Prepare
    const variants = [true, false, 'true', undefined].map((sample) => makeFinding({ service: { additionalInfo: { sample: sample as boolean } } }));
    // Act
    const outcomes = variants.map((v) => {
      try { return parseFinding(v).sample; } catch { return 'rejected'; }
    });
    // Assess
    expect(outcomes).toEqual([true, false, 'rejected', false]);
  });

  it('has no instance ids when the resource has no instance details', () => {
    // Prepare
    const raw = makeFinding({ resource: { resourceType: 'AccessKey', instanceDetails: undefined } });
    // Act
    const finding = parseFinding(raw);
    // Assess
    expect(finding.instanceIds).toEqual([]);
    expect(finding.tags).toEqual({});
  });

  it('refuses an event from another source', () => {
    // Prepare
    const event = makeEvent(makeFinding(), { source: 'aws.securityhub' });
    // Act
    const error = thrown(() => parseFinding(event));
    // Assess
    expect(error).toBeInstanceOf(UnsupportedEventError);
    expect(error.message).toContain('aws.securityhub');
  });

  it('refuses an envelope whose detail is not an object, naming detail', () => {
    // Prepare
    const event = makeEvent('not a finding');
    // Act
    const error = thrown(() => parseFinding(event));
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual(['detail']);
  });

  it.each([
    ['null', null],
    ['a string', 'Backdoor:EC2/C&CActivity.B'],
    ['a number', 42],
    ['an array', [makeFinding()]],
  ])('refuses %s because a finding must be a JSON object', (_what, input) => {
    // Act
    const error = thrown(() => parseFinding(input));
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(/expected a JSON object/);
  });
});

describe('parseFindingText', () => {
  it.each([
    ['truncated JSON', '{"detail": {"id": "abc"'],
    ['plain text', 'GuardDuty says hello'],
    ['an empty body', ''],
  ])('refuses %s as invalid JSON with a ValidationError', (_what, text) => {
    // Act
    const error = thrown(() => parseFindingText(text));
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(/not valid JSON/);
  });

  it('parses JSON text of a full event', () => {
    // Prepare
    const text = JSON.stringify(makeEvent());
    // Act
    const finding = parseFindingText(text);
    // Assess
    expect(finding.id).toBe(makeFinding().id);
  });
});

describe('parseFinding refuses a finding with a missing or bad field, naming its path', () => {
  const cases: { what: string; overrides: Parameters<typeof makeFinding>[0]; path: string }[] = [
    { what: 'no type', overrides: { type: undefined }, path: 'type' },
    { what: 'a type without a threat purpose', overrides: { type: 'EC2/C&CActivity.B' }, path: 'type' },
    { what: 'no severity', overrides: { severity: undefined }, path: 'severity' },
    { what: 'a severity above 10', overrides: { severity: 10.5 }, path: 'severity' },
    { what: 'a negative severity', overrides: { severity: -1 }, path: 'severity' },
    { what: 'a severity written as text', overrides: { severity: '8' as unknown as number }, path: 'severity' },
    { what: 'no eventFirstSeen', overrides: { service: { eventFirstSeen: undefined } }, path: 'service.eventFirstSeen' },
    { what: 'an eventFirstSeen that is not a date', overrides: { service: { eventFirstSeen: 'yesterday' } }, path: 'service.eventFirstSeen' },
    { what: 'an eventFirstSeen without a time zone', overrides: { service: { eventFirstSeen: '2024-05-01T09:30:00' } }, path: 'service.eventFirstSeen' },
    { what: 'an eventFirstSeen in month 13', overrides: { service: { eventFirstSeen: '2024-13-01T09:30:00Z' } }, path: 'service.eventFirstSeen' },
    { what: 'an eventFirstSeen as epoch seconds', overrides: { service: { eventFirstSeen: 1714555800 as unknown as string } }, path: 'service.eventFirstSeen' },
    { what: 'a bad eventLastSeen', overrides: { service: { eventLastSeen: '2024-05-01T25:00:00Z' } }, path: 'service.eventLastSeen' },
    { what: 'no createdAt', overrides: { createdAt: undefined }, path: 'createdAt' },
    { what: 'a bad createdAt', overrides: { createdAt: 'not-a-date' }, path: 'createdAt' },
    { what: 'no resource type', overrides: { resource: { resourceType: undefined } }, path: 'resource.resourceType' },
    { what: 'archived written as text', overrides: { service: { archived: 'false' as unknown as boolean } }, path: 'service.archived' },
  ];

  for (const { what, overrides, path } of cases) {
    it(`refuses a bare finding with ${what} (path ${path})`, () => {
      // Prepare
      const raw = makeFinding(overrides);
      // Act
      const error = thrown(() => parseFinding(raw));
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toContain(path);
      expect(error.message).toContain(`${path}:`);
    });

    it(`refuses an event whose finding has ${what} (path detail.${path})`, () => {
      // Prepare
      const event = makeEvent(makeFinding(overrides));
      // Act
      const error = thrown(() => parseFinding(event));
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toContain(`detail.${path}`);
      expect(error.message).toContain(`detail.${path}:`);
    });
  }

  it('reports every bad field at once', () => {
    // Prepare
    const raw = makeFinding({ type: undefined, severity: undefined, service: { eventFirstSeen: undefined } });
    // Act
    const error = thrown(() => parseFinding(raw)) as ValidationError;
    // Assess
    expect(error.issues.map((i) => i.path).sort()).toEqual(['service.eventFirstSeen', 'severity', 'type']);
  });

  it.each([
    ['30 February', '2021-02-30T00:00:00Z'],
    ['31 April', '2024-04-31T10:00:00Z'],
  ])('refuses a calendar date that does not exist (%s) instead of rolling it over', (_what, date) => {
    // Prepare
    const raw = makeFinding({ service: { eventFirstSeen: date } });
    // Act
    const error = thrown(() => parseFinding(raw));
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain('service.eventFirstSeen');
  });

  it('accepts 29 February of a leap year', () => {
    // Prepare
    const raw = makeFinding({ service: { eventFirstSeen: '2024-02-29T23:59:59Z' } });
    // Act
    const finding = parseFinding(raw);
    // Assess
    expect(finding.firstSeen).toBe('2024-02-29T23:59:59.000Z');
  });
});

describe('severityLabel', () => {
  it.each([
    [0, 'Low'], [3.9, 'Low'], [4, 'Medium'], [6.9, 'Medium'], [7, 'High'], [8.9, 'High'], [9, 'Critical'], [10, 'Critical'],
  ] as const)('labels severity %s as %s', (severity, label) => {
    // Act / Assess
    expect(severityLabel(severity)).toBe(label);
  });

  it('labels a parsed finding with the label of its severity', () => {
    // Prepare
    const raw = makeFinding({ severity: 6.9 });
    // Act
    const finding = parseFinding(raw);
    // Assess
    expect(finding.severityLabel).toBe('Medium');
  });
});

describe('earliestEvidenceMs', () => {
  it('is the earlier of first seen and createdAt', () => {
    // Prepare
    const late = { firstSeen: '2024-05-01T10:00:00.000Z', createdAt: '2024-05-01T09:00:00.000Z' };
    const early = { firstSeen: '2024-05-01T08:00:00.000Z', createdAt: '2024-05-01T09:00:00.000Z' };
    // Act / Assess
    expect(earliestEvidenceMs(late)).toBe(Date.parse('2024-05-01T09:00:00.000Z'));
    expect(earliestEvidenceMs(early)).toBe(Date.parse('2024-05-01T08:00:00.000Z'));
  });
});
