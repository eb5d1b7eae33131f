import { describe, expect, it } from 'vitest';
import { DEPLOY, esbuildOptions } from '../../bench/cold-start.ts';
import { benchInventory, deliveriesOf, expectedIncidents, generateFindings, loadTemplates } from '../../bench/ingestion.ts';
import { historyFor, itemsFor, pagesFor } from '../../bench/selection.ts';
import { assessFinding, DEFAULT_POLICY, parseFinding } from '../../domain/findings/index.ts';
import { functionEnvironment, loadServerlessDefinition } from '../../local/serverless-config.ts';

/** The inputs the benchmarks build: if these are wrong, every figure built on them is too. */

describe('selection benchmark data', () => {
  it('bounds the queries by the adapter paging: 4, then 16, 64, 100 per page', () => {
    // Act / Assess
    expect([1, 4, 5, 20, 21, 34, 84, 85, 184, 185].map((n) => pagesFor(n))).toEqual([1, 1, 2, 2, 3, 3, 3, 4, 4, 5]);
  });

  it('builds a history of exactly the asked length at replication spacing, newest first, newest 30 infected', () => {
    // Act
    const points = historyFor('m00100-00', 100);

    // Assess
    const times = points.map((p) => Date.parse(p.capturedAt));
    expect(points).toHaveLength(100);
    expect(times.every((t, i) => i === 0 || t < times[i - 1]!)).toBe(true);
    expect(times[0]! - times[1]!).toBe(10 * 60_000);
    expect(times[98]! - times[99]!).toBe(24 * 3_600_000);
    expect(points.slice(0, 30).every((p) => p.scan === 'infected')).toBe(true);
    expect(points.slice(30).every((p) => p.scan === 'clean' && p.status === 'available')).toBe(true);
  });

  it('writes items as the adapter does: nextCapturedAt names the next newer point, and a pointer per point', () => {
    // Prepare
    const points = historyFor('m00100-01', 100);

    // Act
    const items = itemsFor(points);

    // Assess
    const pointItems = items.filter((i) => !String(i['sk']).startsWith('POINT#'));
    expect(pointItems).toHaveLength(100);
    expect(pointItems[0]).not.toHaveProperty('nextCapturedAt');
    expect(pointItems[5]!['nextCapturedAt']).toBe(points[4]!.capturedAt);
    expect(pointItems[5]!['sk']).toBe(`${points[5]!.capturedAt}#${points[5]!.pointId}`);
    expect(items.filter((i) => String(i['sk']).startsWith('POINT#'))).toHaveLength(100);
  });
});

describe('ingestion benchmark data', () => {
  const { templates, skipped } = loadTemplates();
  const index = benchInventory(10, 3);

  it('builds on every shared sample that is a GuardDuty finding and leaves out the one that is not', () => {
    // Assess
    expect(templates.length).toBeGreaterThanOrEqual(5);
    expect(skipped.map((s) => s.reason)).toEqual(skipped.map(() => expect.stringContaining('UnsupportedEventError')));
  });

  it('generates findings whose assessment is what the generator intended, so the expected incident count holds', () => {
    // Prepare
    const assess = assessFinding(DEFAULT_POLICY, index);

    // Act
    const findings = generateFindings(400, templates, index, 5);

    // Assess
    for (const f of findings) {
      for (const version of f.versions) {
        const a = assess(parseFinding(version));
        if (f.intent.kind === 'proposal') expect(a).toMatchObject({ action: 'failover-proposal', groups: [f.intent.group] });
        else expect(a.action).not.toBe('failover-proposal');
      }
    }
    expect(findings.some((f) => f.intent.kind === 'proposal')).toBe(true);
    expect(new Set(findings.map((f) => f.id)).size).toBe(400);
  });

  it('delivers every finding ten times, its updates among them, and counts one incident per group proposed plus one per other finding', () => {
    // Prepare
    const findings = generateFindings(50, templates, index, 6);

    // Act
    const deliveries = deliveriesOf(findings, 10, 7);
    const expected = expectedIncidents(findings);

    // Assess
    expect(deliveries).toHaveLength(500);
    const ids = deliveries.map((d) => String(((d['detail'] ?? d) as Record<string, unknown>)['id']));
    expect(new Set(ids).size).toBe(50);
    expect(ids.filter((id) => id === findings[0]!.id)).toHaveLength(10);
    const groups = new Set(findings.flatMap((f) => (f.intent.kind === 'proposal' ? [f.intent.group] : [])));
    expect(expected).toEqual({ incidents: groups.size + findings.filter((f) => f.intent.kind === 'other').length, proposalGroups: groups.size });
  });
});

describe('cold-start benchmark inputs', () => {
  const def = loadServerlessDefinition();

  it('resolves the deployed environment of every function in serverless.yml', () => {
    // Act
    const envs = [...def.functions.keys()].map((name) => functionEnvironment(def, name, DEPLOY));

    // Assess
    for (const env of envs) {
      expect(env).toMatchObject({ CATALOG_TABLE: 'cleanpoint-bench-catalog', STATE_TABLE: 'cleanpoint-bench-state', INVENTORY_SOURCE: 'ssm:/cleanpoint/bench/inventory' });
      expect(env).not.toHaveProperty('POLICY_SOURCE');
      expect(Object.values(env).every((v) => !v.includes('${'))).toBe(true);
    }
  });

  it('gives a function the ARNs and URLs CloudFormation would, made up', () => {
    // Act
    const assess = functionEnvironment(def, 'assess-finding', DEPLOY);
    const request = functionEnvironment(def, 'request-approval', DEPLOY);

    // Assess
    expect(assess['INCIDENT_STATE_MACHINE_ARN']).toMatch(/^arn:aws:states:eu-west-1:123456789012:stateMachine:cleanpoint-bench-incident-response$/);
    expect(request['PUBLIC_BASE_URL']).toBe('https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com');
    expect(request['LINK_SECRET_PARAMETER']).toBe('/cleanpoint/bench/link-secret');
  });

  it('mirrors custom.esbuild and refuses an option it would silently ignore', () => {
    // Prepare
    const custom = (def.raw['custom'] as Record<string, Record<string, unknown>>)['esbuild']!;

    // Act
    const options = esbuildOptions(custom);

    // Assess
    expect(options).toMatchObject({ bundle: true, minify: custom['minify'], format: custom['format'], target: custom['target'], platform: custom['platform'], outExtension: { '.js': custom['outputFileExtension'] } });
    expect(() => esbuildOptions({ ...custom, nodeExternals: true })).toThrow(/nodeExternals/);
  });
});
