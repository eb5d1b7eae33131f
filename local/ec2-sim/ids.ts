import { randomBytes } from 'node:crypto';

/**
 * Realistic-looking resource IDs: `<prefix>-` + 17 hex digits, like current AWS IDs (e.g.
 * `i-0a1b2c3d4e5f60718`; here the first digit is always 0). The last 16 are a bijective 64-bit
 * mix of an ID space (high 32 bits) and a counter (low 32 bits), so within one space no two IDs
 * collide, and two spaces never share an ID.
 *
 * A simulator draws its space at random when it starts (idSpace()), unless it is given a seed:
 * EC2 IDs are unique and never reused, and a counter alone would hand out again the IDs of a
 * previous run whose saved state was lost or older, or that another simulator over the same
 * saved state also handed out. Two random spaces coincide with probability 2^-32.
 */
const MASK64 = (1n << 64n) - 1n;

/** A fresh random ID space (32 bits). */
export function idSpace(): number {
  return randomBytes(4).readUInt32BE(0);
}

function mix64(x: bigint): bigint {
  let z = (x + 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

export function formatId(prefix: string, counter: number, space: number): string {
  const value = mix64((BigInt(counter) ^ (BigInt(space >>> 0) << 32n)) & MASK64);
  return `${prefix}-0${value.toString(16).padStart(16, '0')}`;
}

/** ID shape check used for `*.Malformed` errors: the resource's prefix, a dash, then letters/digits. */
export function isWellFormedId(id: string, prefix: string): boolean {
  return id.startsWith(`${prefix}-`) && /^[0-9a-zA-Z]+$/.test(id.slice(prefix.length + 1));
}

/** Small seeded PRNG (mulberry32): uniform floats in [0, 1), reproducible from `seed`. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
