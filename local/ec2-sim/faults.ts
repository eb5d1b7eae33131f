import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ec2Error } from './errors.ts';
import { SeededRandom } from './ids.ts';
import type { Tags } from './state.ts';

/**
 * Which instances a fault applies to, by tag: `{ key, value }` (exact value) or `{ key }` (any value).
 * `machineTag` is the same as a string: `"key=value"` or `"key"`.
 */
const tagMatcher = z.strictObject({ key: z.string().min(1), value: z.string().optional() });

const slowBoot = z.strictObject({
  machineTag: z.string().min(1).optional(),
  tag: tagMatcher.optional(),
  instanceTypes: z.array(z.string()).optional(),
  extraMs: z.number().nonnegative(),
});

const failNextCall = z.union([
  z.number().int().nonnegative(),
  z.strictObject({ count: z.number().int().nonnegative(), code: z.string().min(1).optional(), message: z.string().optional() }),
]);

export const ec2FaultsSchema = z.strictObject({
  /** Seed for the `failureRate` RNG (defaults to the simulator's seed). */
  seed: z.number().int().optional(),
  /** RunInstances answers InsufficientInstanceCapacity for these types / zones / subnets. */
  capacityErrors: z
    .strictObject({
      instanceTypes: z.array(z.string()).optional(),
      availabilityZones: z.array(z.string()).optional(),
      subnetIds: z.array(z.string()).optional(),
    })
    .optional(),
  /** Probability (0..1) that an admitted call fails with InternalError. */
  failureRate: z.number().min(0).max(1).optional(),
  /** Restrict `failureRate` to these commands (default: all). */
  failureCommands: z.array(z.string()).optional(),
  /** Overrides the simulator's boot time for instances launched while set. */
  bootMs: z.number().nonnegative().optional(),
  /** Overrides the simulator's status-check time for instances launched while set. */
  statusCheckMs: z.number().nonnegative().optional(),
  /** Extra boot time for matching instances (all matching entries add up). No selector = every instance. */
  slowBoot: z.union([slowBoot, z.array(slowBoot)]).optional(),
  /** Matching instances report `impaired` status checks instead of `ok` (evaluated on every read). */
  statusCheckFailures: z
    .strictObject({
      instanceIds: z.array(z.string()).optional(),
      tag: tagMatcher.optional(),
      machineTag: z.string().min(1).optional(),
      /** Also fail the system status check (default: instance status only). */
      system: z.boolean().optional(),
    })
    .optional(),
  /**
   * KMS keys (ARN, key id or alias as the volumes name them) the caller cannot use: a disabled key,
   * or one whose key policy does not allow the caller. RunInstances succeeds, then the instance
   * goes pending ▶ terminated with StateReason Client.InternalError ("Client error on launch"),
   * as EC2 does when it cannot create a grant on the volumes' key for the caller.
   */
  unusableKmsKeys: z.array(z.string().min(1)).optional(),
  /** Fail the next N calls of a command (default code InternalError), e.g. `{ "RunInstances": 2 }`. */
  failNextCalls: z.record(z.string(), failNextCall).optional(),
});

export type Ec2Faults = z.infer<typeof ec2FaultsSchema>;
export type TagMatcher = z.infer<typeof tagMatcher>;

/** Validate a fault document (e.g. parsed JSON); throws with the zod issues when invalid. */
export function parseFaults(value: unknown): Ec2Faults {
  const result = ec2FaultsSchema.safeParse(value);
  if (!result.success) throw new Error(`Invalid EC2 simulator faults: ${z.prettifyError(result.error)}`);
  return result.data;
}

export function readFaultsFile(path: string): Ec2Faults {
  return parseFaults(JSON.parse(readFileSync(path, 'utf8')));
}

function parseMachineTag(spec: string): TagMatcher {
  const eq = spec.indexOf('=');
  return eq < 0 ? { key: spec } : { key: spec.slice(0, eq), value: spec.slice(eq + 1) };
}

function matchesTag(tags: Tags, matcher: TagMatcher): boolean {
  const value = tags[matcher.key];
  return value !== undefined && (matcher.value === undefined || matcher.value === value);
}

interface Selector {
  instanceIds?: string[];
  tag?: TagMatcher;
  machineTag?: string;
  instanceTypes?: string[];
}

/** True when the instance fits every selector given (a selector with nothing set matches everything). */
function selects(sel: Selector, instance: { instanceId: string; instanceType: string; tags: Tags }): boolean {
  if (sel.instanceIds !== undefined && !sel.instanceIds.includes(instance.instanceId)) return false;
  if (sel.instanceTypes !== undefined && !sel.instanceTypes.includes(instance.instanceType)) return false;
  if (sel.tag !== undefined && !matchesTag(instance.tags, sel.tag)) return false;
  if (sel.machineTag !== undefined && !matchesTag(instance.tags, parseMachineTag(sel.machineTag))) return false;
  return true;
}

/** Applies an Ec2Faults document; keeps the live state (remaining failNextCalls, RNG). */
export class FaultInjector {
  private faults: Ec2Faults = {};
  private random: SeededRandom;

  constructor(private readonly defaultSeed: number) {
    this.random = new SeededRandom(defaultSeed);
  }

  /** Replace the faults (validated) and re-seed the RNG. */
  set(faults: Ec2Faults): void {
    this.faults = structuredClone(parseFaults(faults));
    this.random = new SeededRandom(this.faults.seed ?? this.defaultSeed);
  }

  /** The current faults, including what is left of failNextCalls. */
  current(): Ec2Faults {
    return structuredClone(this.faults);
  }

  /** Called for every admitted call: throws the injected error, if any. */
  beforeCall(command: string): void {
    const next = this.faults.failNextCalls?.[command];
    if (next !== undefined) {
      const spec = typeof next === 'number' ? { count: next } : next;
      if (spec.count > 0) {
        this.faults.failNextCalls![command] = { ...spec, count: spec.count - 1 };
        throw ec2Error(spec.code ?? 'InternalError', spec.message ?? `Injected failure of ${command}`);
      }
    }
    const rate = this.faults.failureRate ?? 0;
    const applies = this.faults.failureCommands === undefined || this.faults.failureCommands.includes(command);
    if (rate > 0 && applies && this.random.next() < rate) {
      throw ec2Error('InternalError', 'An internal error has occurred (injected).');
    }
  }

  kmsKeyUnusable(keyId: string): boolean {
    return this.faults.unusableKmsKeys?.includes(keyId) ?? false;
  }

  capacityError(instanceType: string, availabilityZone: string, subnetId: string): boolean {
    const c = this.faults.capacityErrors;
    if (c === undefined) return false;
    return (
      (c.instanceTypes?.includes(instanceType) ?? false) ||
      (c.availabilityZones?.includes(availabilityZone) ?? false) ||
      (c.subnetIds?.includes(subnetId) ?? false)
    );
  }

  bootMs(defaultMs: number, instance: { instanceId: string; instanceType: string; tags: Tags }): number {
    const slow = this.faults.slowBoot;
    const entries = slow === undefined ? [] : Array.isArray(slow) ? slow : [slow];
    const extra = entries.filter((e) => selects(e, instance)).reduce((sum, e) => sum + e.extraMs, 0);
    return (this.faults.bootMs ?? defaultMs) + extra;
  }

  statusCheckMs(defaultMs: number): number {
    return this.faults.statusCheckMs ?? defaultMs;
  }

  impaired(instance: { instanceId: string; instanceType: string; tags: Tags }): { instance: boolean; system: boolean } {
    const f = this.faults.statusCheckFailures;
    if (f === undefined || !selects(f, instance)) return { instance: false, system: false };
    return { instance: true, system: f.system ?? false };
  }
}
