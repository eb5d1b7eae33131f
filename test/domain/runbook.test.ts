import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseInventoryText } from '../../domain/inventory/index.ts';
import { parsePolicy } from '../../domain/findings/index.ts';
import { renderRunbook } from '../../domain/evidence/index.ts';

const inventory = () => parseInventoryText(readFileSync('examples/inventory.yaml', 'utf8'));

describe('renderRunbook', () => {
  it('states every group\'s objectives, people per role and how they are reached', () => {
    // Act
    const md = renderRunbook({ inventory: inventory(), generatedAt: '2026-11-26' });

    // Assess
    expect(md).toContain('| payments | payments-db-1 (1), payments-api-1 (2), payments-api-2 (2) | 60 min | 30 min | 1 |');
    expect(md).toContain('| decider | Dana Decider, Dominik Decider | e-mail dana@example.com, Slack U0DANA0001; e-mail dominik@example.com, Slack U0DOM00001 |');
    expect(md).toMatch(/### intranet[\s\S]*\| executor \| \*\*nobody — assign someone\*\* \|/);
  });

  it('describes the trigger from the policy in force, not a fixed text', () => {
    // Prepare
    const policy = parsePolicy({ version: 'strict-2', failoverMinSeverity: 8, safetyMarginMinutes: 90, safetyMarginMinutesByPurpose: { Impact: 240 } });

    // Act
    const md = renderRunbook({ inventory: inventory(), policy, generatedAt: '2026-11-26' });

    // Assess
    expect(md).toContain('policy `strict-2`');
    expect(md).toContain('its severity is at least 8');
    expect(md).toContain('minus **90 minutes** (Impact: 240 min)');
  });

  it('lists the drill schedule with the last result, and says when a group was never tested', () => {
    const md = renderRunbook({ inventory: inventory(), generatedAt: '2026-11-26', drills: [{ group: 'payments', finishedAt: '2026-11-22T03:10:00Z', result: 'pass', rtoMinutes: 14 }] });
    expect(md).toContain('| payments | `cron(0 3 ? * SUN *)` | 7 days | 2026-11-22T03:10:00Z: pass, RTO 14 min |');
    expect(md).toContain('| crm | `rate(7 days)` | 14 days | never tested |');
  });

  it('warns about a group that has no primary network to fail back into', () => {
    const md = renderRunbook({ inventory: inventory(), generatedAt: '2026-11-26' });
    expect(md).toContain('> **intranet** has no primary network in the inventory: it cannot fail back until one is added.');
  });
});
