import { describe, expect, it } from 'vitest';
import { assessFinding, combineSuspectedSince, DEFAULT_POLICY, MACHINE_TAG, parseFinding, parsePolicy, parsePolicyText, safetyMarginMinutes, type Policy } from '../../domain/findings/index.ts';
import { indexInventory, parseInventory } from '../../domain/inventory/index.ts';
import {
  INSTANCES, UNPROTECTED_INSTANCE, loadSharedFixture, loadTestEvent, makeFinding, makeInventory, type DeepPartial, type RawFinding, validationError } from '../helpers/fixtures.ts';

/** The spec's lists, written out here so a change to the domain constants is noticed. */
const FAILOVER_PURPOSES = [
  'Backdoor', 'CryptoCurrency', 'Execution', 'Impact', 'Persistence', 'PrivilegeEscalation',
  'Trojan', 'DefenseEvasion', 'UnauthorizedAccess', 'CredentialAccess', 'AttackSequence',
];
const NEVER_PURPOSES = ['Recon', 'Discovery', 'Policy', 'PenTest', 'Stealth'];

const index = indexInventory(parseInventory(makeInventory()));

function assess(overrides: DeepPartial<RawFinding> = {}, policy: Policy = DEFAULT_POLICY) {
  return assessFinding(policy, index)(parseFinding(makeFinding(overrides)));
}

describe('assessFinding', () => {
  describe('which findings propose a failover', () => {
    it.each(FAILOVER_PURPOSES)('proposes a recovery failover for a High %s finding on a protected machine', (purpose) => {
      // Act
      const assessment = assess({ type: `${purpose}:EC2/SomethingBad`, severity: 8 });
      // Assess
      expect(assessment).toMatchObject({ action: 'failover-proposal', mode: 'recovery', machines: ['payments-db'], groups: ['payments'] });
    });

    it.each(NEVER_PURPOSES)('never proposes a failover for a %s finding, even at severity 10 on a protected machine', (purpose) => {
      // Act
      const assessment = assess({ type: `${purpose}:EC2/SomethingBad`, severity: 10 });
      // Assess
      expect(assessment.action).toBe('notify');
      expect(assessment.mode).toBeNull();
      expect(assessment.machines).toEqual(['payments-db']);
      expect(assessment.reasons.join(' ')).toContain(`${purpose} findings never propose a failover`);
    });

    it('only notifies for a purpose outside the failover list (Exfiltration)', () => {
      // Act
      const assessment = assess({ type: 'Exfiltration:S3/AnomalousBehavior', severity: 8 });
      // Assess
      expect(assessment.action).toBe('notify');
    });

    it('notifies but does not propose a failover at severity 6.9', () => {
      // Act
      const assessment = assess({ severity: 6.9 });
      // Assess
      expect(assessment).toMatchObject({ action: 'notify', mode: null });
    });

    it('proposes a failover at exactly severity 7', () => {
      // Act
      const assessment = assess({ severity: 7 });
      // Assess
      expect(assessment.action).toBe('failover-proposal');
    });

    it('ignores a finding on a protected machine at severity 3.9', () => {
      // Act
      const assessment = assess({ severity: 3.9 });
      // Assess
      expect(assessment.action).toBe('ignore');
    });

    it('notifies at exactly severity 4', () => {
      // Act
      const assessment = assess({ severity: 4 });
      // Assess
      expect(assessment.action).toBe('notify');
    });

    it('ignores an archived finding however severe', () => {
      // Act
      const assessment = assess({ severity: 9.5, service: { archived: true } });
      // Assess
      expect(assessment).toMatchObject({ action: 'ignore', mode: null });
      expect(assessment.reasons).toContain('the finding is archived');
    });

    it('ignores the archived finding from our event variants', () => {
      // Prepare
      const finding = parseFinding(loadTestEvent('guardduty', 'archived-backdoor'));
      // Act
      const assessment = assessFinding(DEFAULT_POLICY, index)(finding);
      // Assess
      expect(assessment.action).toBe('ignore');
    });

    it('proposes only a test-mode failover for a sample finding', () => {
      // Act
      const assessment = assess({ severity: 9.5, service: { additionalInfo: { sample: true } } });
      // Assess
      expect(assessment).toMatchObject({ action: 'failover-proposal', mode: 'test' });
    });

    it('follows the thresholds of a policy file', () => {
      // Prepare
      const policy = parsePolicy({ failoverMinSeverity: 5, notifyMinSeverity: 2 });
      // Act
      const results = [4.9, 5, 1.9, 2].map((severity) => assess({ severity }, policy).action);
      // Assess
      expect(results).toEqual(['notify', 'failover-proposal', 'ignore', 'notify']);
    });

    it('proposes a failover for the ransomware-like Impact event on payments-db', () => {
      // Prepare
      const finding = parseFinding(loadTestEvent('guardduty', 'impact-ec2-high-protected'));
      // Act
      const assessment = assessFinding(DEFAULT_POLICY, index)(finding);
      // Assess
      expect(assessment).toMatchObject({ action: 'failover-proposal', mode: 'recovery', machines: ['payments-db'], groups: ['payments'] });
    });

    it('proposes a failover for a Container finding on a protected instance', () => {
      // Prepare
      const finding = parseFinding(loadTestEvent('guardduty', 'container-cryptominer'));
      // Act
      const assessment = assessFinding(DEFAULT_POLICY, index)(finding);
      // Assess
      expect(assessment).toMatchObject({ action: 'failover-proposal', machines: ['ledger-worker'], groups: ['ledger'] });
    });
  });

  describe('which machines a finding touches', () => {
    it.each(['S3Bucket', 'AccessKey', 'EKSCluster'])(
      'touches no machine for a %s finding even though it carries instanceDetails of a protected instance',
      (resourceType) => {
        // Act
        const assessment = assess({ resource: { resourceType }, severity: 8 });
        // Assess
        expect(assessment).toMatchObject({ action: 'notify', machines: [], groups: [], suspectedSince: null });
      },
    );

    it('touches no machine for the shared S3 and access-key samples but touches the instance of the EC2 sample', () => {
      // Prepare: protect the instance the GuardDuty sample generator writes into every sample finding
      const raw = makeInventory();
      raw.groups[2]!.machines.push({ id: 'sample-target', instanceId: 'i-99999999', instanceType: 'm3.xlarge' });
      const sampleIndex = indexInventory(parseInventory(raw));
      const unarchived = (file: string) => {
        const f = loadSharedFixture<RawFinding>(`guardduty/findings/${file}`);
        f.service.archived = false;
        return parseFinding(f);
      };
      const s3 = unarchived('amazon-guardduty-automated-response-sample_guardduty_s3_event.json');
      const iam = unarchived('amazon-guardduty-automated-response-sample_guardduty_iam_event.json');
      const ec2 = parseFinding(loadSharedFixture('guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json'));
      // Act
      const [s3a, iama, ec2a] = [s3, iam, ec2].map(assessFinding(DEFAULT_POLICY, sampleIndex));
      // Assess
      expect(s3a!.machines).toEqual([]);
      expect(iama!.machines).toEqual([]);
      expect(ec2a!.machines).toEqual(['sample-target']);
      expect(ec2a!.action).toBe('notify'); // severity 5: below the failover threshold
    });

    it('touches no machine for an instance that is not in the inventory', () => {
      // Act
      const assessment = assess({ resource: { instanceDetails: { instanceId: UNPROTECTED_INSTANCE } } });
      // Assess
      expect(assessment).toMatchObject({ action: 'notify', machines: [], groups: [], suspectedSince: null });
    });

    it(`touches the machine named by the ${MACHINE_TAG} tag when the instance id is unknown`, () => {
      // Prepare
      const finding = parseFinding(loadTestEvent('guardduty', 'tagged-replacement-instance'));
      // Act
      const assessment = assessFinding(DEFAULT_POLICY, index)(finding);
      // Assess
      expect(assessment).toMatchObject({ action: 'failover-proposal', machines: ['reporting-etl'], groups: ['reporting'] });
    });

    it(`ignores a ${MACHINE_TAG} tag that names no machine of the inventory`, () => {
      // Act
      const assessment = assess({
        resource: { instanceDetails: { instanceId: UNPROTECTED_INSTANCE, tags: [{ key: MACHINE_TAG, value: 'no-such-machine' }] } },
      });
      // Assess
      expect(assessment.machines).toEqual([]);
    });

    it(`ignores a ${MACHINE_TAG} tag on a resource type that is not a machine`, () => {
      // Act
      const assessment = assess({
        resource: { resourceType: 'S3Bucket', instanceDetails: { instanceId: UNPROTECTED_INSTANCE, tags: [{ key: MACHINE_TAG, value: 'ledger-db' }] } },
      });
      // Assess
      expect(assessment.machines).toEqual([]);
    });

    it('lists touched machines and their groups in inventory order, each group once', () => {
      // Prepare: the instance is in ledger (second group), the tag names a payments machine (first group)
      const overrides = { resource: { instanceDetails: { instanceId: INSTANCES.ledgerDb, tags: [{ key: MACHINE_TAG, value: 'payments-web' }] } } };
      // Act
      const assessment = assess(overrides);
      // Assess
      expect(assessment.machines).toEqual(['payments-web', 'ledger-db']);
      expect(assessment.groups).toEqual(['payments', 'ledger']);
    });

    it('names a machine once when the instance id and the tag point at the same machine', () => {
      // Act
      const assessment = assess({ resource: { instanceDetails: { tags: [{ key: MACHINE_TAG, value: 'payments-db' }] } } });
      // Assess
      expect(assessment.machines).toEqual(['payments-db']);
      expect(assessment.groups).toEqual(['payments']);
    });
  });

  describe('when the data may have been corrupted', () => {
    it('subtracts the default 60 minute margin from the first evidence', () => {
      // Prepare: first seen 09:30, created 09:45:12
      // Act
      const assessment = assess();
      // Assess
      expect(assessment.evidenceAt).toBe('2024-05-01T09:30:00.000Z');
      expect(assessment.suspectedSince).toBe('2024-05-01T08:30:00.000Z');
    });

    it('uses createdAt when it is earlier than eventFirstSeen', () => {
      // Act
      const assessment = assess({ createdAt: '2024-05-01T09:00:00.000Z', service: { eventFirstSeen: '2024-05-01T09:30:00.000Z' } });
      // Assess
      expect(assessment.evidenceAt).toBe('2024-05-01T09:00:00.000Z');
      expect(assessment.suspectedSince).toBe('2024-05-01T08:00:00.000Z');
    });

    it('compares instants, not strings, when the two times carry different offsets', () => {
      // Prepare: 10:10+02:00 is 08:10Z, earlier than createdAt 09:00Z
      // Act
      const assessment = assess({ createdAt: '2024-05-01T09:00:00Z', service: { eventFirstSeen: '2024-05-01T10:10:00+02:00' } });
      // Assess
      expect(assessment.suspectedSince).toBe('2024-05-01T07:10:00.000Z');
    });

    it('uses the margin of the threat purpose when the policy file sets one', () => {
      // Prepare
      const policy = parsePolicy({ safetyMarginMinutesByPurpose: { Backdoor: 240 }, safetyMarginMinutes: 30 });
      // Act
      const backdoor = assess({}, policy);
      const impact = assess({ type: 'Impact:EC2/PortSweep' }, policy);
      // Assess
      expect(backdoor.suspectedSince).toBe('2024-05-01T05:30:00.000Z');
      expect(impact.suspectedSince).toBe('2024-05-01T09:00:00.000Z');
    });

    it('still estimates the corruption start for a notify-only finding on a protected machine', () => {
      // Act
      const assessment = assess({ type: 'Recon:EC2/PortProbeUnprotectedPort', severity: 5 });
      // Assess
      expect(assessment.suspectedSince).toBe('2024-05-01T08:30:00.000Z');
    });
  });

  it('carries the policy version and the finding summary', () => {
    // Prepare
    const policy = parsePolicy({ version: 'prod-2024-05' });
    // Act
    const assessment = assess({}, policy);
    // Assess
    expect(assessment.policyVersion).toBe('prod-2024-05');
    expect(assessment.finding).toMatchObject({ type: 'Backdoor:EC2/C&CActivity.B', severityLabel: 'High', instanceIds: [INSTANCES.paymentsDb] });
  });
});

describe('combineSuspectedSince', () => {
  it('keeps the earliest estimate and skips findings without one', () => {
    // Act
    const combined = combineSuspectedSince(['2024-05-01T08:30:00.000Z', null, '2024-05-01T06:00:00+01:00', '2024-05-01T07:00:00Z']);
    // Assess
    expect(combined).toBe('2024-05-01T05:00:00.000Z');
  });

  it('is null when no finding touched a machine', () => {
    // Act / Assess
    expect(combineSuspectedSince([null, null])).toBeNull();
    expect(combineSuspectedSince([])).toBeNull();
  });
});

describe('parsePolicy', () => {
  it('uses the documented defaults for an empty policy file', () => {
    // Act
    const policy = parsePolicy(undefined);
    // Assess
    expect(policy).toMatchObject({
      failoverMinSeverity: 7, notifyMinSeverity: 4, safetyMarginMinutes: 60, scope: 'groups',
      machineResourceTypes: ['Instance', 'Container'],
    });
    expect([...policy.failoverPurposes].sort()).toEqual([...FAILOVER_PURPOSES].sort());
  });

  it.each(NEVER_PURPOSES)('refuses a policy that lists %s as a failover purpose, naming its position', (purpose) => {
    // Prepare
    const raw = { failoverPurposes: ['Backdoor', purpose] };
    // Act
    const error = validationError(() => parsePolicy(raw));
    // Assess
    expect(error.issues).toEqual([{ path: 'failoverPurposes[1]', message: `${purpose} findings never propose a failover` }]);
  });

  it('refuses a notify threshold above the failover threshold', () => {
    // Act
    const error = validationError(() => parsePolicy({ failoverMinSeverity: 5, notifyMinSeverity: 6 }));
    // Assess
    expect(error.issues.map((i) => i.path)).toEqual(['notifyMinSeverity']);
  });

  it('refuses unknown keys, out-of-range severities and negative margins with their paths', () => {
    // Prepare
    const raw = { failoverMinSeverity: 11, safetyMarginMinutesByPurpose: { Backdoor: -5 }, autoApprove: true };
    // Act
    const error = validationError(() => parsePolicy(raw));
    // Assess
    expect(error.issues.map((i) => i.path).sort()).toEqual(['', 'failoverMinSeverity', 'safetyMarginMinutesByPurpose.Backdoor']);
    expect(error.message).toContain('autoApprove');
  });

  it('reads a YAML policy file', () => {
    // Prepare
    const text = 'version: prod-1\nfailoverPurposes: [Backdoor, Impact]\nsafetyMarginMinutesByPurpose:\n  Impact: 720\n';
    // Act
    const policy = parsePolicyText(text);
    // Assess
    expect(policy.failoverPurposes).toEqual(['Backdoor', 'Impact']);
    expect(safetyMarginMinutes(policy, 'Impact')).toBe(720);
    expect(safetyMarginMinutes(policy, 'Backdoor')).toBe(60);
  });

  it('refuses a policy file that is not YAML', () => {
    // Act
    const error = validationError(() => parsePolicyText('failoverPurposes: [Backdoor\n'));
    // Assess
    expect(error.message).toMatch(/not valid YAML or JSON/);
  });
});
