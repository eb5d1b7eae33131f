/**
 * EC2 resource IDs are unique and never reused. The simulator's state is saved only now and
 * then (on a clean stop), so a restart may begin from an older snapshot of it, or from none, and
 * two simulators may start over the same saved state: none of them may hand out an ID another
 * run already handed out (ids.ts: a random ID space per simulator, unless seeded).
 */
import { describe, expect, it } from 'vitest';
import { Ec2Simulator, type Ec2SimState } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1);
let names = 0;

function simulator(state?: Ec2SimState, seed?: number): Ec2Simulator {
  return new Ec2Simulator({ clock: new VirtualClock({ startMs: START }), ...(state ? { state } : {}), ...(seed !== undefined ? { seed } : {}) });
}

/** Creates a VPC, subnet, security group, snapshots, images and instances (with their volumes); returns every ID. */
function handOut(sim: Ec2Simulator, rounds = 3): string[] {
  const existing = new Set(sim.resources().map((r) => r.id));
  const vpcId = sim.seedVpc();
  const subnetId = sim.seedSubnet({ vpcId });
  const ids = [vpcId, subnetId, sim.seedSecurityGroup({ vpcId, groupName: `group-${++names}` })];
  for (let i = 0; i < rounds; i++) {
    const snapshotId = sim.seedSnapshot({ volumeSize: 8 });
    const imageId = sim.seedImage({ name: `image-${++names}`, snapshotIds: [snapshotId] });
    const instanceId = sim.seedInstance({ subnetId, imageId });
    ids.push(snapshotId, imageId, instanceId);
  }
  ids.push(...sim.resources().filter((r) => (r.type === 'volume' || r.type === 'route-table') && !existing.has(r.id)).map((r) => r.id));
  return [...new Set(ids)];
}

function overlap(a: string[], b: string[]): string[] {
  const seen = new Set(a);
  return b.filter((id) => seen.has(id));
}

describe('EC2 simulator resource IDs', () => {
  it('look like AWS IDs: a prefix and 17 hex digits', () => {
    const ids = handOut(simulator());
    for (const id of ids) expect(id).toMatch(/^(i|ami|snap|vol|vpc|subnet|sg|rtb)-[0-9a-f]{17}$/);
  });

  it('two simulators started over the same saved state never hand out the same ID', () => {
    // Prepare
    const first = simulator();
    const before = handOut(first);
    const saved = first.snapshotState();

    // Act
    const a = handOut(simulator(saved));
    const b = handOut(simulator(saved));

    // Assess
    expect(a.length).toBeGreaterThan(10);
    expect(overlap(a, b)).toEqual([]);
    expect(overlap(before, a)).toEqual([]);
    expect(overlap(before, b)).toEqual([]);
  });

  it('a simulator restarted from an older snapshot of its state does not hand out the IDs given since', () => {
    // Prepare: state saved early, then more IDs handed out and the later state lost (kill -9)
    const first = simulator();
    const early = handOut(first, 1);
    const older = first.snapshotState();
    const since = handOut(first, 3);

    // Act
    const restarted = handOut(simulator(older), 5);

    // Assess
    expect(overlap([...early, ...since], restarted)).toEqual([]);
  });

  it('a simulator whose saved state was lost altogether does not reuse the previous run\'s IDs', () => {
    const previous = handOut(simulator());
    const fresh = handOut(simulator());
    expect(overlap(previous, fresh)).toEqual([]);
  });

  it('with an explicit seed, IDs are reproducible (benchmarks opt in to that)', () => {
    expect(handOut(simulator(undefined, 7))).toEqual(handOut(simulator(undefined, 7)));
  });

  it('skips an ID already in the state even in the same ID space', () => {
    // Prepare: a seeded run saved, then the same seed restarted from an older snapshot
    const first = simulator(undefined, 7);
    handOut(first, 1);
    const older = first.snapshotState();
    const later = handOut(first, 2);
    const saved = first.snapshotState();

    // Act: same space, counter behind, but every ID of the later state is in it
    const restarted = simulator({ ...saved, idCounter: older.idCounter }, 7);
    const again = handOut(restarted, 2);

    // Assess
    expect(overlap(later, again)).toEqual([]);
  });
});
