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
    // The scan before launch stepped back from a point only the scan knew to be infected.
    expect(output).toMatch(/malware scan before launch found payments-db-1's newest clean-looking point infected/);
    // Earlier evidence superseded the pending request: its link refused, a new proposal went out.
    expect(output).toMatch(/A second finding moved the cutoff \S+ ▶ \S+: the pending request was superseded \(its link now answers 410\)/);
    expect(output).toMatch(/payments-db-1\s+rp-payments-db-1-\S+ .* gives up [\d.]+ min of clean data/);
    // A re-infection of the restored database re-opened the incident and restored it from an earlier point.
    expect(output).toMatch(/A finding on the restored payments-db-1 \(i-[0-9a-f]+\) re-opened the incident/);
    expect(output).toMatch(/The new proposal restores payments-db-1 from rp-payments-db-1-\S+, before the re-infected point/);
    expect(output).toContain('After the re-infection the incident settled as recovered');
    expect(output).toMatch(/Measured RTO [\d.]+ min \(objective 30 min\), RPO [\d.]+ min/);
    expect(output).toContain('Demo passed');
  }, 30_000);
});
