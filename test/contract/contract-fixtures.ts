/**
 * Builders for the contract suites: realistic incidents and approval requests made by the
 * domain itself (finding ▶ assessment ▶ incident; points ▶ selection ▶ plan ▶ approval), so
 * the adapters are exercised with the nested shapes they will really store.
 */
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { randomUUID } from 'node:crypto';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import { assessFinding, DEFAULT_POLICY, parseFinding, type Finding } from '../../domain/findings/index.ts';
import { newIncident, type Incident } from '../../domain/incidents/index.ts';
import { indexInventory, parseInventory } from '../../domain/inventory/index.ts';
import { buildFailoverPlan } from '../../domain/failover/index.ts';
import { selectRecoveryPoints, type RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { makeFinding, makeInventory, makePoint, type DeepPartial, type RawFinding } from '../helpers/fixtures.ts';

const index = indexInventory(parseInventory(makeInventory()));
const assess = assessFinding(DEFAULT_POLICY, index);

/** A unique suffix so tests sharing a table never see each other's keys. */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export function makeDomainFinding(overrides: DeepPartial<RawFinding> = {}): Finding {
  return parseFinding(makeFinding(overrides));
}

/**
 * A proposed incident for the default backdoor finding on payments-db, with a unique id and
 * the optional fields (execution, outcome with nulls and an optional error) filled in.
 */
export function makeIncident(overrides: Partial<Incident> = {}): Incident {
  const finding = makeDomainFinding();
  const base = newIncident(assess(finding), finding, '2024-05-01T09:46:00.000Z');
  return {
    ...base,
    incidentId: unique('inc'),
    executionName: 'incident-inc-test',
    outcome: {
      result: 'partial',
      rtoMinutes: 42.5,
      rpoMinutes: null,
      machines: [
        { machineId: 'payments-db', instanceId: 'i-0aaaaaaaaaaaaaaa1', pointId: 'p-1', state: 'running' },
        { machineId: 'payments-api', instanceId: null, pointId: 'p-2', state: 'failed', error: 'InsufficientInstanceCapacity' },
      ],
      finishedAt: '2024-05-01T11:00:00.000Z',
    },
    ...overrides,
  };
}

let proposal: Promise<ApprovalRequest['proposal']> | undefined;

/** The payments group's selection and test-mode plan at 09:00Z (computed once, cloned per use). */
function makeProposal(): Promise<ApprovalRequest['proposal']> {
  proposal ??= (async () => {
    const points: RecoveryPoint[] = ['payments-db', 'payments-api', 'payments-web'].flatMap((machineId) => [
      makePoint({ machineId, capturedAt: '2024-05-01T07:00:00.000Z' }),
      makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.000Z', scan: machineId === 'payments-web' ? 'infected' : 'clean' }),
    ]);
    const cutoff = '2024-05-01T09:00:00.000Z';
    const selection = await selectRecoveryPoints({ catalog: new InMemoryRecoveryPointCatalog(points) })({
      groups: [{ group: 'payments', cutoff, machines: ['payments-db', 'payments-api', 'payments-web'] }],
      evidenceAt: '2024-05-01T09:30:00.000Z',
    });
    const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'test', selection });
    return { cutoff, mode: 'test', selection, plan };
  })();
  return proposal.then((p) => structuredClone(p));
}

export async function makeApproval(overrides: Partial<ApprovalRequest> = {}): Promise<ApprovalRequest> {
  return {
    approvalId: unique('apr'),
    incidentId: 'inc-1',
    status: 'pending',
    taskToken: `AQCEAAAAKgAAAAMAAAAA${randomUUID()}/token+with/slashes==`,
    createdAt: '2024-05-01T09:50:00.000Z',
    expiresAt: '2024-05-01T10:50:00.000Z',
    groups: ['payments'],
    eligibleDeciders: ['alice', 'bob'],
    quorum: 2,
    requestedBy: 'carol',
    decisions: [],
    proposal: await makeProposal(),
    version: 1,
    ...overrides,
  };
}

/** Every ISO minute from `start`, `count` of them, oldest first. */
export function minutesFrom(start: string, count: number, stepMinutes = 1): string[] {
  const t0 = Date.parse(start);
  return Array.from({ length: count }, (_, i) => new Date(t0 + i * stepMinutes * 60_000).toISOString());
}

/** Await `fn` and return what it threw (fails the test when nothing was thrown). */
export async function thrown(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw e;
  }
  throw new Error('expected an error, but nothing was thrown');
}

/** Collect an async iterable, stopping after `max` items. */
export async function take<T>(iterable: AsyncIterable<T>, max = Number.POSITIVE_INFINITY): Promise<T[]> {
  const out: T[] = [];
  if (max <= 0) return out;
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}
