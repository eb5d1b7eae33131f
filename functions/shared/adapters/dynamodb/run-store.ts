/**
 * Runs in the state table: `RUN#<runId>` / `META` for the run, `RUN#<runId>` / `MACHINE#<id>`
 * per machine (so a 1,000-machine run never hits the 400 KB item limit or the 256 KiB state
 * payload limit), and the incident's proposal at `INCIDENT#<id>` / `PROPOSAL`.
 */
import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import type { RunStore } from '../../../../domain/ports/index.ts';
import type { Run, RunMachine, StoredProposal } from '../../../../domain/failover/index.ts';
import { DynamoTable, isConditionFailed, omitAttributes, type DynamoAdapterOptions, type Item } from './client.ts';

const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'META' });
const machineKey = (runId: string, machineId: string) => ({ pk: `RUN#${runId}`, sk: `MACHINE#${machineId}` });
const proposalKey = (incidentId: string) => ({ pk: `INCIDENT#${incidentId}`, sk: 'PROPOSAL' });
const KEYS = ['pk', 'sk', 'entity'] as const;

export class DynamoRunStore implements RunStore {
  private readonly table: DynamoTable;

  constructor(options: DynamoAdapterOptions) {
    this.table = new DynamoTable(options);
  }

  /**
   * The run item is written last, conditionally: a retried planning step re-puts machine items
   * only where they do not exist yet, so progress recorded by launches is never overwritten.
   */
  async createRun(run: Run, machines: RunMachine[]): Promise<{ created: boolean }> {
    if (await this.getRun(run.runId)) return { created: false };
    for (const m of machines) {
      try {
        await this.table.put({ Item: { ...m, ...machineKey(run.runId, m.machineId), entity: 'run-machine' }, ConditionExpression: 'attribute_not_exists(pk)' });
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
      }
    }
    try {
      await this.table.put({ Item: { ...run, ...runKey(run.runId), entity: 'run' }, ConditionExpression: 'attribute_not_exists(pk)' });
      return { created: true };
    } catch (e) {
      if (isConditionFailed(e)) return { created: false };
      throw e;
    }
  }

  async getRun(runId: string): Promise<Run | null> {
    const out = await this.table.get({ Key: runKey(runId), ConsistentRead: true });
    return out.Item ? omitAttributes<Run>(out.Item, KEYS) : null;
  }

  async getMachine(runId: string, machineId: string): Promise<RunMachine | null> {
    const out = await this.table.get({ Key: machineKey(runId, machineId), ConsistentRead: true });
    return out.Item ? omitAttributes<RunMachine>(out.Item, KEYS) : null;
  }

  async updateMachine(runId: string, machineId: string, changes: Partial<Omit<RunMachine, 'runId' | 'machineId'>>): Promise<RunMachine> {
    const entries = Object.entries(changes).filter(([k]) => k !== 'runId' && k !== 'machineId');
    if (entries.length === 0) {
      const m = await this.getMachine(runId, machineId);
      if (!m) throw new NotFoundError(`machine ${machineId} of run ${runId} not found`);
      return m;
    }
    const names: Record<string, string> = { '#pk': 'pk' };
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    entries.forEach(([k, v], i) => {
      names[`#a${i}`] = k;
      if (v === undefined) removes.push(`#a${i}`);
      else { sets.push(`#a${i} = :a${i}`); values[`:a${i}`] = v; }
    });
    try {
      const out = await this.table.update({
        Key: machineKey(runId, machineId),
        UpdateExpression: `${sets.length ? `SET ${sets.join(', ')}` : ''}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`.trim(),
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
        ReturnValues: 'ALL_NEW',
      });
      return omitAttributes<RunMachine>(out.Attributes as Item, KEYS);
    } catch (e) {
      if (isConditionFailed(e)) throw new NotFoundError(`machine ${machineId} of run ${runId} not found`);
      throw e;
    }
  }

  async listMachines(runId: string): Promise<RunMachine[]> {
    const items = await this.table.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :m)',
      ExpressionAttributeValues: { ':pk': `RUN#${runId}`, ':m': 'MACHINE#' },
      ConsistentRead: true,
    });
    return items.map((i) => omitAttributes<RunMachine>(i, KEYS));
  }

  async saveProposal(incidentId: string, proposal: StoredProposal): Promise<void> {
    if (proposal.incidentId !== incidentId) throw new ConflictError('proposal belongs to another incident');
    await this.table.put({ Item: { ...proposal, ...proposalKey(incidentId), entity: 'proposal' } });
  }

  async getProposal(incidentId: string): Promise<StoredProposal | null> {
    const out = await this.table.get({ Key: proposalKey(incidentId), ConsistentRead: true });
    return out.Item ? omitAttributes<StoredProposal>(out.Item, KEYS) : null;
  }
}
