import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalRuntime } from '../../local/runtime.ts';

describe('the local runtime with a data folder', () => {
  it('keeps incidents, the simulator and the outbox across a restart', async () => {
    // Prepare: a first run (own process) records a notify-level finding, mails the analyst, and stops
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-data-'));
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/persist-phase-one.ts', dataDir], { encoding: 'utf8', env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' } });
    const first = JSON.parse(stdout.trim().split('\n').at(-1)!) as { incidentId: string; mails: number; instances: number };
    expect(first.mails).toBeGreaterThan(0);
    expect(first.instances).toBe(1);

    // Act: start again on the same folder
    const second = await startLocalRuntime({ dataDir, inventoryFile: path.resolve('examples/inventory.yaml'), speed: 60, publicBaseUrl: 'http://127.0.0.1:8787' });
    try {
      // Assess
      const { stateStores } = await import('../../functions/shared/wiring.ts');
      const stored = await stateStores({ STATE_TABLE: second.tables.state }, second.platform).incidents.getIncident(first.incidentId);
      expect(stored?.status).toBe('notified');
      expect(second.outbox).toHaveLength(first.mails);
      expect(second.outbox[0]!.to).toContain('ana@example.com');
      expect(second.sim.resources().filter((r) => r.type === 'instance')).toHaveLength(first.instances);
    } finally {
      await second.close();
    }
  }, 90_000);
});
