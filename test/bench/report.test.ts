import { describe, expect, it } from 'vitest';
import { atLeast, atMost, exactly, figure } from '../../bench/lib/result.ts';
import { median, percentile, seededRandom, shuffle } from '../../bench/lib/stats.ts';
import { figuresTable, formatValue, markdownTable, summary } from '../../bench/lib/table.ts';

describe('figure', () => {
  it('judges a value against its target', () => {
    // Act / Assess
    expect(figure('c', 'ratio', 1.04, 'ratio', atMost(1.05)).pass).toBe(true);
    expect(figure('c', 'ratio', 1.06, 'ratio', atMost(1.05)).pass).toBe(false);
    expect(figure('c', 'rate', 9_999, '/s', atLeast(10_000)).pass).toBe(false);
    expect(figure('c', 'failed', 0, 'count', exactly(0)).pass).toBe(true);
    expect(figure('c', 'ratio', 1 + 1e-12, 'ratio', exactly(1)).pass).toBe(true);
  });

  it('reports a figure without a target as a reference, not as met', () => {
    // Act
    const f = figure('naive', 'throttled', 285, 'count');

    // Assess
    expect(f.pass).toBeNull();
    expect(f).not.toHaveProperty('target');
  });

  it('counts a targeted figure that could not be measured as missed', () => {
    // Act / Assess
    expect(figure('c', 'init', null, 'ms', atMost(250)).pass).toBe(false);
    expect(figure('c', 'ratio', Number.NaN, 'ratio', atMost(1.5)).pass).toBe(false);
  });
});

describe('the table printer', () => {
  it('prints one Markdown row per figure with value, target and result', () => {
    // Prepare
    const figures = [figure('paced, 1 wave × 100', 'makespan / floor', 1.018, 'ratio', atMost(1.1)), figure('naive', 'throttled requests', 285, 'count')];

    // Act
    const table = figuresTable(figures);

    // Assess
    expect(table.split('\n')).toEqual([
      '| Case | Figure | Value | Target | Result |',
      '| --- | --- | --- | --- | --- |',
      '| paced, 1 wave × 100 | makespan / floor | 1.018 | ≤ 1.100 | met |',
      '| naive | throttled requests | 285 | — | reference |',
    ]);
  });

  it('escapes pipes so a cell cannot break the table', () => {
    // Act / Assess
    expect(markdownTable(['a'], [['x | y']])).toContain('x \\| y');
  });

  it('formats each unit the way the report reads it', () => {
    // Act / Assess
    expect(formatValue(137.5, 's')).toBe('137.5 s');
    expect(formatValue(12_345.6, '/s')).toBe('12,346 /s');
    expect(formatValue(1_809_181 / 1e6, 'MB')).toBe('1.81 MB');
    expect(formatValue(3.5, 'ms')).toBe('3.50 ms');
    expect(formatValue(null, 'ms')).toBe('n/a');
  });

  it('summarises met and missed targets, ignoring reference figures', () => {
    // Prepare
    const result = {
      name: 'x', title: 'X', wallMs: 1, method: [], details: {},
      figures: [figure('a', 'm', 1, 'ratio', atMost(2)), figure('b', 'm', 3, 'ratio', atMost(2)), figure('c', 'm', 3, 'ratio')],
    };

    // Act
    const s = summary([result]);

    // Assess
    expect(s).toMatchObject({ targets: 2, met: 1 });
    expect(s.missed).toEqual(['X: b: m = 3.000 (target ≤ 2.000)']);
  });
});

describe('stats', () => {
  it('takes the median of odd and even counts and the nearest-rank percentile', () => {
    // Act / Assess
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([5, 1, 4, 2, 3], 100)).toBe(5);
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(() => median([])).toThrow(RangeError);
  });

  it('draws the same sequence from the same seed, so runs are reproducible', () => {
    // Act
    const a = Array.from({ length: 5 }, seededRandom(7));
    const b = Array.from({ length: 5 }, seededRandom(7));

    // Assess
    expect(a).toEqual(b);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 5 }, seededRandom(8))).not.toEqual(a);
  });

  it('shuffles into a permutation of the input', () => {
    // Act
    const shuffled = shuffle(Array.from({ length: 50 }, (_, i) => i), seededRandom(1));

    // Assess
    expect([...shuffled].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(shuffled).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
