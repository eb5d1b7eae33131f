import { invalidParameter } from './errors.ts';

/** IPv4 CIDR arithmetic for subnet address allocation. */
export interface Cidr {
  base: number;
  prefix: number;
  size: number;
}

export function parseCidr(cidr: string, field = 'CidrBlock'): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(m?.[5]);
  if (m === null || octets.some((o) => o > 255) || prefix < 16 || prefix > 28) {
    throw invalidParameter(field, `'${cidr}' is not an IPv4 CIDR block between /16 and /28`);
  }
  const size = 2 ** (32 - prefix);
  const raw = octets.reduce((acc, o) => acc * 256 + o, 0);
  return { base: raw - (raw % size), prefix, size };
}

export function formatIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** AWS reserves the first four addresses and the last one of every subnet. */
export function usableOffsets(cidr: Cidr): { first: number; last: number } {
  return { first: 4, last: cidr.size - 2 };
}

export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}
