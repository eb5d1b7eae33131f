import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { selectRecoveryPoints, type RecoveryPoint, type RecoveryPointCatalog, type Selection } from '../domain/recovery-points/index.ts';
import { DynamoTable, type Item, type RequestStats } from '../functions/shared/adapters/dynamodb/client.ts';
import { DynamoRecoveryPointCatalog } from '../functions/shared/adapters/dynamodb/recovery-point-catalog.ts';
import { ensureTables } from '../functions/shared/adapters/dynamodb/tables.ts';
import { replicationHistory } from '../local/replication-history.ts';
import { startDynalite } from '../test/helpers/dynamo.ts';
import { atMost, exactly, figure, type Benchmark, type Figure } from './lib/result.ts';
import { median, seededRandom, shuffle } from './lib/stats.ts';

/**
 * 2. Recovery-point selection cost against catalogue size, on the embedded DynamoDB server.
 *
 * 10 machines per history length, each with a history at real replication spacing. The indexed
 * path is selectRecoveryPoints over DynamoRecoveryPointCatalog (one descending Query from the
 * cutoff, paged lazily); the naive path is the same selection over a catalogue that Queries the
 * machine's whole partition and filters in memory.
 */

const NOW = Date.UTC(2025, 5, 2, 12, 0, 0);
const TABLE = 'cleanpoint-bench-catalog';
const MACHINES = 10;
/**
 * The newest SKIPPED points of every history are infected (ransomware that has been encrypting for
 * about five days at replication spacing). A cutoff at now skips them all; a cutoff at the first
 * clean point chooses it at once. Every history (≥ 100 points) holds all the pages the adapter
 * reads in either case, so the cases are alike for every history length.
 */
const SKIPPED = 30;
/** selectRecoveryPoints' default: older eligible points offered to deciders. */
const ALTERNATIVES = 3;
/** DynamoRecoveryPointCatalog paging: the first page is the consumer's hint (1 + alternatives), later pages ×4 up to 100. */
const FIRST_PAGE = 1 + ALTERNATIVES;
const MAX_PAGE = 100;
const BATCH = 25;

/** Queries the adapter needs to read `points` points newest first (its documented paging). */
export function pagesFor(points: number, firstPage = FIRST_PAGE, maxPage = MAX_PAGE): number {
  let pages = 0;
  let read = 0;
  let limit = firstPage;
  while (read < points) {
    pages++;
    read += limit;
    limit = Math.max(limit, Math.min(limit * 4, maxPage));
  }
  return pages;
}

/** Fixed-width machine ids, so item sizes (and capacity) do not depend on the history length. */
const machineIdFor = (size: number, i: number) => `m${String(size).padStart(5, '0')}-${String(i).padStart(2, '0')}`;

/**
 * `size` points of one machine, newest first, at the spacing replication services keep (10 min
 * for the last hour, hourly for a day, then daily), extended back as far as needed; the newest
 * SKIPPED points are infected.
 */
export function historyFor(machineId: string, size: number): RecoveryPoint[] {
  const points = replicationHistory(machineId, NOW, { days: size }).slice(0, size);
  if (points.length < size) throw new Error(`replication history of ${machineId} has ${points.length} points, wanted ${size}`);
  for (let k = 0; k < SKIPPED && k < points.length; k++) points[k]!.scan = 'infected';
  return points;
}

/** The table items the adapter would have written: point items with nextCapturedAt, and pointer items. */
export function itemsFor(points: RecoveryPoint[]): Item[] {
  const items: Item[] = [];
  points.forEach((p, k) => {
    const newer = k > 0 ? points[k - 1]!.capturedAt : undefined;
    items.push({ ...p, sk: `${p.capturedAt}#${p.pointId}`, ...(newer ? { nextCapturedAt: newer } : {}) });
    items.push({ machineId: p.machineId, sk: `POINT#${p.pointId}`, pointId: p.pointId, capturedAt: p.capturedAt });
  });
  return items;
}

async function bulkLoad(doc: DynamoDBDocumentClient, items: Item[]): Promise<void> {
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += BATCH) batches.push(items.slice(i, i + BATCH));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let pending: Item[] = batches[next++]!;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 10) throw new Error('BatchWrite kept returning unprocessed items');
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [TABLE]: pending.map((Item) => ({ PutRequest: { Item } })) } }));
        pending = (out.UnprocessedItems?.[TABLE] ?? []).map((r) => r.PutRequest!.Item as Item);
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

/** The naive reading: Query the machine's whole partition (every page), then filter and sort in memory. */
class WholePartitionCatalog implements RecoveryPointCatalog {
  readonly table: DynamoTable;
  constructor(doc: DynamoDBDocumentClient) {
    this.table = new DynamoTable({ client: doc, tableName: TABLE });
  }

  async *pointsAtOrBefore(machineId: string, atOrBefore: string): AsyncGenerator<RecoveryPoint> {
    const items = await this.table.queryAll({ KeyConditionExpression: 'machineId = :m', ExpressionAttributeValues: { ':m': machineId } });
    const cutoff = new Date(atOrBefore).toISOString();
    const points = items
      .filter((i) => !String(i['sk']).startsWith('POINT#') && String(i['capturedAt']) <= cutoff)
      .sort((a, b) => String(b['sk']).localeCompare(String(a['sk'])));
    for (const { sk: _sk, nextCapturedAt, ...p } of points) yield { ...(p as RecoveryPoint), nextCapturedAt: (nextCapturedAt as string | undefined) ?? null };
  }
}

type Reader = 'indexed' | 'naive';
type Scenario = 'newest eligible' | `${typeof SKIPPED} skipped`;

interface Measurement {
  size: number;
  reader: Reader;
  scenario: Scenario;
  requestsPerMachine: number;
  rcuPerMachine: number;
  latenciesMs: number[];
  medianMs: number;
}

function cutoffFor(scenario: Scenario, sample: RecoveryPoint[]): string {
  return scenario === 'newest eligible' ? sample[SKIPPED]!.capturedAt : new Date(NOW).toISOString();
}

/** The selection must be right for its figures to mean anything. */
function check(selection: Selection, scenario: Scenario, histories: Map<string, RecoveryPoint[]>): void {
  if (selection.blockers.length) throw new Error(`selection blocked: ${selection.blockers[0]!.reason}`);
  for (const m of selection.machines) {
    const expected = histories.get(m.machineId)![SKIPPED]!;
    const skipped = scenario === 'newest eligible' ? 0 : SKIPPED;
    if (m.pointId !== expected.pointId || m.skippedCount !== skipped || m.alternatives.length !== ALTERNATIVES) {
      throw new Error(`${m.machineId}: chose ${m.pointId} (skipped ${m.skippedCount}), expected ${expected.pointId} (skipped ${skipped})`);
    }
  }
}

export const selectionBenchmark: Benchmark = {
  name: 'selection',
  title: '2. Recovery-point selection cost vs catalogue size',
  async run({ quick }) {
    const sizes = quick ? [100, 1_000] : [100, 1_000, 10_000];
    const repeats = { indexed: quick ? 11 : 31, naive: 3 };
    const random = seededRandom(2);
    const dynamo = await startDynalite();
    try {
      await ensureTables(dynamo.client, { catalog: TABLE });
      const histories = new Map<number, Map<string, RecoveryPoint[]>>();
      const loadStart = performance.now();
      let loaded = 0;
      for (const size of sizes) {
        const bySize = new Map<string, RecoveryPoint[]>();
        for (let i = 0; i < MACHINES; i++) {
          const id = machineIdFor(size, i);
          const points = historyFor(id, size);
          bySize.set(id, points);
          const items = itemsFor(points);
          await bulkLoad(dynamo.docClient, items);
          loaded += items.length;
        }
        histories.set(size, bySize);
        process.stderr.write(`  selection: loaded ${MACHINES} × ${size.toLocaleString('en-GB')} points\n`);
      }
      const loadMs = performance.now() - loadStart;

      const readers: Record<Reader, { catalog: RecoveryPointCatalog; stats(): RequestStats; reset(): void }> = (() => {
        const indexed = new DynamoRecoveryPointCatalog({ client: dynamo.docClient, tableName: TABLE });
        const naive = new WholePartitionCatalog(dynamo.docClient);
        return {
          indexed: { catalog: indexed, stats: () => indexed.stats(), reset: () => indexed.resetStats() },
          naive: { catalog: naive, stats: () => naive.table.stats(), reset: () => naive.table.resetStats() },
        };
      })();

      // The naive reader reads every point whatever the cutoff, so only one scenario is run for it.
      const plan: [Reader, Scenario][] = [['indexed', 'newest eligible'], ['indexed', `${SKIPPED} skipped`], ['naive', 'newest eligible']];
      const measurements: Measurement[] = [];
      for (const [reader, scenario] of plan) {
        const bySize = new Map<number, Measurement>();
        const select = (size: number) => {
          const machines = [...histories.get(size)!.keys()];
          const cutoff = cutoffFor(scenario, histories.get(size)!.get(machines[0]!)!);
          return selectRecoveryPoints({ catalog: readers[reader].catalog })({
            groups: [{ group: 'bench', cutoff, machines }], evidenceAt: cutoff, alternatives: ALTERNATIVES,
          });
        };
        // First selection per size: warm-up (connections, JIT), correctness check, and the request counters.
        // A naive selection of a long history takes seconds: its first run is timed too.
        for (const size of sizes) {
          readers[reader].reset();
          const t = performance.now();
          check(await select(size), scenario, histories.get(size)!);
          const ms = performance.now() - t;
          const s = readers[reader].stats();
          bySize.set(size, { size, reader, scenario, requestsPerMachine: s.requests / MACHINES, rcuPerMachine: s.consumedRcu / MACHINES, latenciesMs: reader === 'naive' ? [ms] : [], medianMs: 0 });
        }
        // Timed rounds, sizes interleaved (in a shuffled order per round) so background load hits every size alike.
        for (let r = bySize.get(sizes[0]!)!.latenciesMs.length; r < repeats[reader]; r++) {
          for (const size of shuffle([...sizes], random)) {
            const t = performance.now();
            await select(size);
            bySize.get(size)!.latenciesMs.push(performance.now() - t);
          }
        }
        for (const m of bySize.values()) {
          m.medianMs = median(m.latenciesMs);
          measurements.push(m);
        }
      }
      return {
        figures: figuresOf(measurements, sizes),
        method: [
          `Embedded DynamoDB (dynalite, in this process, over loopback HTTP with the real SDK). ${MACHINES} machines per history length; each history is local/replication-history.ts spacing (10-minute points for the last hour, hourly for a day, then daily) extended back as far as needed and cut to 100 / 1,000 / 10,000 points. Loaded with BatchWrite (${loaded.toLocaleString('en-GB')} items in ${(loadMs / 1000).toFixed(1)} s) in the adapter's layout: point items with nextCapturedAt computed here, and POINT# pointer items.`,
          `The newest ${SKIPPED} points of every history are infected. "newest eligible": cutoff at the newest clean point, which is chosen at once. "${SKIPPED} skipped": cutoff = now, so the ${SKIPPED} infected points are skipped first. Every selection is checked (chosen point, skipped count, ${ALTERNATIVES} alternatives) before it is measured.`,
          `Indexed: selectRecoveryPoints (alternatives ${ALTERNATIVES}) over DynamoRecoveryPointCatalog; requests and consumed read capacity from its stats() (ReturnConsumedCapacity TOTAL, as dynalite computes it), divided by ${MACHINES}. Bound with skipped points: the adapter's pages are ${FIRST_PAGE}, then ×4 up to ${MAX_PAGE}, so reading s skipped + 1 + ${ALTERNATIVES} points takes pagesFor(s + ${1 + ALTERNATIVES}) queries (${pagesFor(SKIPPED + 1 + ALTERNATIVES)} for s = ${SKIPPED}).`,
          `Naive: the same selection over a catalogue that Queries the whole partition (all pages) and filters and sorts in memory; run for "newest eligible" only, since it reads every point whatever the cutoff.`,
          `Latency: wall time of one selection of ${MACHINES} machines (read in parallel), median of ${repeats.indexed} runs after a first, untimed selection (warm-up, correctness check and request counters; for the naive reader, whose selections take seconds, that first run is one of its ${repeats.naive}), history lengths interleaved in a shuffled order in each round (the machine is shared: interleaving spreads background load over every size alike).`,
        ],
        details: { sizes, machines: MACHINES, loadedItems: loaded, loadMs: Math.round(loadMs), measurements },
      };
    } finally {
      await dynamo.close();
    }
  },
};

function figuresOf(ms: Measurement[], sizes: number[]): Figure[] {
  const figures: Figure[] = [];
  const smallest = sizes[0]!;
  const largest = sizes.at(-1)!;
  const n = (size: number) => size.toLocaleString('en-GB');
  const groups = [...new Set(ms.map((m) => `${m.reader}|${m.scenario}`))].map((k) => k.split('|') as [Reader, Scenario]);
  for (const [reader, scenario] of groups) {
    const find = (size: number) => ms.find((m) => m.reader === reader && m.scenario === scenario && m.size === size)!;
    const indexed = reader === 'indexed';
    const bound = scenario === 'newest eligible' ? exactly(1) : atMost(pagesFor(SKIPPED + 1 + ALTERNATIVES));
    for (const size of sizes) {
      const m = find(size);
      const label = `${reader}, ${scenario}, ${n(size)} points`;
      figures.push(
        figure(label, 'requests per machine', m.requestsPerMachine, 'count', indexed ? bound : undefined),
        figure(label, 'read capacity per machine', m.rcuPerMachine, 'RCU'),
        figure(label, 'latency (median)', m.medianMs, 'ms'),
      );
    }
    const big = find(largest);
    // Capacity against every shorter history: flat means equal to each.
    for (const size of sizes.slice(0, -1)) {
      figures.push(figure(`${reader}, ${scenario}, ${n(largest)} vs ${n(size)} points`, 'read capacity per machine ratio', big.rcuPerMachine / find(size).rcuPerMachine, 'ratio', indexed ? exactly(1) : undefined));
    }
    figures.push(figure(`${reader}, ${scenario}, ${n(largest)} vs ${n(smallest)} points`, 'latency ratio', big.medianMs / find(smallest).medianMs, 'ratio', indexed ? atMost(1.5) : undefined));
  }
  return figures;
}
