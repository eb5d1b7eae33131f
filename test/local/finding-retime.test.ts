import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { retimeFinding } from '../../local/finding-retime.ts';

type Event = { id: string; time: string; detail: { id: string; arn: string; createdAt: string; updatedAt: string; service: { eventFirstSeen: string; eventLastSeen: string } } };
const example = () => JSON.parse(readFileSync('examples/findings/ransomware-payments-db.json', 'utf8')) as Event;
const NOW = Date.parse('2030-01-01T12:00:00.000Z');
const times = (e: Event) => [e.detail.service.eventFirstSeen, e.detail.createdAt, e.detail.service.eventLastSeen, e.detail.updatedAt, e.time].map(Date.parse);

describe('retimeFinding', () => {
  it('moves the finding so it was first seen at least 30 minutes ago, keeping the spacing of its times', () => {
    // Prepare
    const original = example();

    // Act
    const moved = retimeFinding(original, { nowMs: NOW }) as Event;

    // Assess
    const before = times(original);
    const after = times(moved);
    expect(after.map((t, i) => t - before[i]!)).toEqual(Array(5).fill(after[0]! - before[0]!));
    expect(NOW - after[0]!).toBeGreaterThanOrEqual(30 * 60_000);
    expect(Math.max(...after)).toBeLessThanOrEqual(NOW - 60_000); // nothing in the future
    expect(original.detail.service.eventFirstSeen).toBe('2026-11-26T09:12:40Z'); // the input is not modified
  });

  it('gives the finding a fresh id (and ARN and event id) unless asked to keep it', () => {
    const original = example();
    const fresh = retimeFinding(original, { nowMs: NOW }) as Event;
    const kept = retimeFinding(original, { nowMs: NOW, freshId: false, retime: false }) as Event;
    expect(fresh.detail.id).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.detail.id).not.toBe(original.detail.id);
    expect(fresh.detail.arn.endsWith(`/finding/${fresh.detail.id}`)).toBe(true);
    expect(fresh.id).not.toBe(original.id);
    expect(kept).toEqual(original);
  });
});
