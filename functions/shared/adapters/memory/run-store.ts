import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import type { RunStore } from '../../../../domain/ports/index.ts';
import type { Run, RunMachine, StoredProposal } from '../../../../domain/failover/index.ts';

const clone = <T>(v: T): T => structuredClone(v);

/** In-memory RunStore with the DynamoDB adapter's semantics (deep copies in and out). */
export class MemoryRunStore implements RunStore {
  private readonly runs = new Map<string, Run>();
  private readonly machines = new Map<string, Map<string, RunMachine>>();
  private readonly proposals = new Map<string, StoredProposal>();

  async createRun(run: Run, machines: RunMachine[]): Promise<{ created: boolean }> {
    if (this.runs.has(run.runId)) return { created: false };
    const byId = this.machines.get(run.runId) ?? new Map<string, RunMachine>();
    for (const m of machines) if (!byId.has(m.machineId)) byId.set(m.machineId, clone(m));
    this.machines.set(run.runId, byId);
    this.runs.set(run.runId, clone(run));
    return { created: true };
  }

  async getRun(runId: string): Promise<Run | null> {
    const r = this.runs.get(runId);
    return r ? clone(r) : null;
  }

  async getMachine(runId: string, machineId: string): Promise<RunMachine | null> {
    const m = this.machines.get(runId)?.get(machineId);
    return m ? clone(m) : null;
  }

  async updateMachine(runId: string, machineId: string, changes: Partial<Omit<RunMachine, 'runId' | 'machineId'>>): Promise<RunMachine> {
    const byId = this.machines.get(runId);
    const m = byId?.get(machineId);
    if (!byId || !m) throw new NotFoundError(`machine ${machineId} of run ${runId} not found`);
    const next: Record<string, unknown> = { ...m };
    for (const [k, v] of Object.entries(clone(changes))) {
      if (k === 'runId' || k === 'machineId') continue;
      if (v === undefined) delete next[k]; else next[k] = v;
    }
    byId.set(machineId, next as unknown as RunMachine);
    return clone(next as unknown as RunMachine);
  }

  async listMachines(runId: string): Promise<RunMachine[]> {
    return [...(this.machines.get(runId)?.values() ?? [])].sort((a, b) => (a.machineId < b.machineId ? -1 : 1)).map(clone);
  }

  async saveProposal(incidentId: string, proposal: StoredProposal): Promise<void> {
    if (proposal.incidentId !== incidentId) throw new ConflictError('proposal belongs to another incident');
    this.proposals.set(incidentId, clone(proposal));
  }

  async getProposal(incidentId: string): Promise<StoredProposal | null> {
    const p = this.proposals.get(incidentId);
    return p ? clone(p) : null;
  }
}
