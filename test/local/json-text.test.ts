import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toJsonText } from '../../local/json-text.ts';

describe('toJsonText: JSON text without recursion', () => {
  it('writes what JSON.stringify writes for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => { expect(toJsonText(v)).toBe(JSON.stringify(v)); }));
  });

  it('writes what JSON.stringify writes for undefined members, toJSON, dates and shared objects', () => {
    const shared = { a: 1 };
    const v = { u: undefined, f: () => 1, d: new Date(0), arr: [undefined, shared, shared], deep: [[[]]], s: 'é"\n' };
    const deep: unknown[] = [v];
    for (let i = 0; i < 20_000; i++) deep.splice(0, 1, [deep[0]]);
    expect(JSON.parse(toJsonText(deep))).toBeDefined();
    expect(toJsonText([v])).toBe(JSON.stringify([v]));
  });

  it('writes a 5,000-deep array that JSON.stringify cannot, and it parses back', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const text = toJsonText({ detail: deep });
    expect(text).toBe(`{"detail":${'['.repeat(5_000)}1${']'.repeat(5_000)}}`);
  });

  it('refuses a cycle as JSON.stringify does', () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    expect(() => toJsonText(a)).toThrow(TypeError);
  });
});
