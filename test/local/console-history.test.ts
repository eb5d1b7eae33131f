/**
 * The incident page lists each workflow execution's history as the Step Functions console does
 * (ID, type, state, time, elapsed), and keeps it across a restart on the same data folder (the
 * execution journal): here after a failover story run to its end and a fresh start.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyCard, HISTORY_ROWS } from '../../local/console/incident.ts';
import { runScenario, startScenarioSystem } from '../fixtures/crash-scenario.ts';
import { inventoryWithLongDeadlines } from '../helpers/local-system.ts';

const history = (n: number) => [{
  executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m:incident-inc-1', name: 'incident-inc-1', machine: 'incidentResponse', status: 'FAILED',
  startDate: '2026-01-01T00:00:00.000Z', redriveCount: 1, error: 'States.TaskFailed',
  events: Array.from({ length: n }, (_, i) => ({ id: i + 1, type: i === 0 ? 'ExecutionStarted' : 'StateEntered', state: i === 0 ? null : `<State ${i}>`, at: new Date(Date.UTC(2026, 0, 1) + i * 90_000).toISOString(), elapsedMs: i * 90_000 })),
}];

describe('the workflow history on the incident page', () => {
  it('lists every event with its id, type, state, time and elapsed time, escaped', () => {
    const html = historyCard(history(3));
    expect(html).toContain('data-workflow-history');
    expect(html).toMatch(/<tr data-event="1"><td>1<\/td><td>ExecutionStarted<\/td><td><\/td><td>2026-01-01 00:00:00Z<\/td><td>0 ms<\/td><\/tr>/);
    expect(html).toMatch(/<tr data-event="3"><td>3<\/td><td>StateEntered<\/td><td>&lt;State 2&gt;<\/td><td>2026-01-01 00:03:00Z<\/td><td>3 min 0 s<\/td><\/tr>/);
    expect(html).toContain('redriven 1×');
    expect(html).toContain('data-execution-status>FAILED</span>');
    expect(html).not.toContain('<State');
  });

  it('shows the last events of a long history and says so', () => {
    const html = historyCard(history(HISTORY_ROWS + 5));
    expect(html).toContain(`The last ${HISTORY_ROWS} of ${HISTORY_ROWS + 5} events.`);
    expect(html).not.toContain('data-event="5"');
    expect(html).toContain(`data-event="${HISTORY_ROWS + 5}"`);
  });

  it('after a restart the page still shows the history of the executions that ran before it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-history-'));
    const inventoryFile = inventoryWithLongDeadlines();
    const done = await runScenario({ phase: 'failover', dataDir, inventoryFile });
    expect(done?.status).toBe('recovered');
    const system = await startScenarioSystem({ phase: 'failover', dataDir, inventoryFile });
    try {
      const [incident] = await system.stores.incidents.listIncidents();
      const html = await (await fetch(`${system.url}/incidents/${incident!.incidentId}`)).text();
      expect(html).toContain(`data-execution="incident-${incident!.incidentId}"`);
      expect(html).toMatch(/<td>StateEntered<\/td><td>Request Failover Approval<\/td>/);
      expect(html).toMatch(/<td>StateEntered<\/td><td>Launch Machine<\/td>/);
      expect(html).toMatch(/<td>ExecutionSucceeded<\/td>/);
    } finally {
      await system.close();
    }
  }, 60_000);
});
