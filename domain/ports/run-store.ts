import type { Run, RunMachine, StoredProposal } from '../failover/model.ts';

/**
 * Per-run and per-machine records. Large results live here, not in workflow state (Step
 * Functions payloads are limited to 256 KiB).
 */
export interface RunStore {
  /** Idempotent: re-creating an existing run leaves it (and its machines' progress) unchanged. */
  createRun(run: Run, machines: RunMachine[]): Promise<{ created: boolean }>;
  getRun(runId: string): Promise<Run | null>;
  getMachine(runId: string, machineId: string): Promise<RunMachine | null>;
  updateMachine(runId: string, machineId: string, changes: Partial<Omit<RunMachine, 'runId' | 'machineId'>>): Promise<RunMachine>;
  listMachines(runId: string): Promise<RunMachine[]>;
  /** The proposal shown to deciders (selection + plan), one per incident, replaced on re-selection. */
  saveProposal(incidentId: string, proposal: StoredProposal): Promise<void>;
  getProposal(incidentId: string): Promise<StoredProposal | null>;
}
