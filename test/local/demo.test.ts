import { describe, expect, it } from 'vitest';
import { runDemo } from '../../local/demo.ts';

describe('npm run demo', () => {
  it('fails the payments group over to its latest clean points through the HTTP endpoints and reports success', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const result = await runDemo({ speed: 600, log: (l) => void lines.push(l) });

    // Assess
    const output = lines.join('\n');
    expect(result.problems, output).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.incidentId).toMatch(/^inc-[0-9a-f]{20}$/);
    expect(result.verification?.machines.map((m) => [m.machineId, m.instanceState])).toEqual([
      ['payments-db-1', 'running'], ['payments-api-1', 'running'], ['payments-api-2', 'running'],
    ]);
    // The ransomware's infected points were passed over and shown as such.
    expect(output).toMatch(/payments-db-1\s+rp-payments-db-1-\S+ .* gives up [\d.]+ min of clean data; skipped \d+ newer: .*infected/);
    expect(output).toMatch(/Measured RTO [\d.]+ min \(objective 30 min\), RPO [\d.]+ min/);
    expect(output).toContain('Demo passed');
  }, 30_000);
});
