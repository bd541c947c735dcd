import { describe, expect, it } from '@jest/globals';
import { percentile } from '../../result.ts';
import { latencyChart, lineChart, logTicks, niceTicks } from '../../svg.ts';

describe('percentile', () => {
  it('takes the nearest rank of an unsorted sample', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 90)).toBe(9);
    expect(percentile(xs, 99)).toBe(10);
    expect(percentile(xs, 0)).toBe(1);
  });

  it('is NaN for an empty sample', () => {
    expect(percentile([], 99)).toBeNaN();
  });
});

describe('axis ticks', () => {
  it('steps by 1, 2 or 5 times a power of ten across the range', () => {
    expect(niceTicks(0, 1000)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(0, 7)).toEqual([0, 2, 4, 6]);
  });

  it('puts logarithmic ticks on powers of ten, with 2 and 5 between on short ranges', () => {
    expect(logTicks(1, 1000)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    expect(logTicks(1, 100_000)).toEqual([1, 10, 100, 1000, 10_000, 100_000]);
  });
});

describe('lineChart', () => {
  const chart = lineChart({
    title: 'latency <p99> & co',
    xLabel: 'rate',
    yLabel: 'ms',
    series: [
      {
        name: 'p50',
        points: [
          [50, 5],
          [500, 20],
        ],
      },
      {
        name: 'p99',
        points: [
          [50, 12],
          [500, Number.NaN],
          [1000, 300],
        ],
      },
    ],
    hRules: [{ value: 250, label: 'target' }],
    vRules: [{ value: 800, label: 'saturation' }],
  });

  it('is one SVG document with a path per series and a dot per finite point', () => {
    expect(chart.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(chart.trim().endsWith('</svg>')).toBe(true);
    expect(chart.match(/<path /g)).toHaveLength(2);
    expect(chart.match(/<circle /g)).toHaveLength(4);
  });

  it('escapes text and draws the reference lines with their labels', () => {
    expect(chart).toContain('latency &lt;p99&gt; &amp; co');
    expect(chart).toContain('>target</text>');
    expect(chart).toContain('>saturation</text>');
  });

  it('places larger values higher on the page', () => {
    const ys = [...chart.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    // p50 at 50/s (5 ms) sits below p50 at 500/s (20 ms): SVG y grows downwards.
    expect(ys[0]).toBeGreaterThan(ys[1] as number);
  });
});

describe('a logarithmic x axis', () => {
  it('spaces 1, 10 and 100 evenly', () => {
    const svg = lineChart({
      title: 'batch',
      xLabel: 'batch size',
      yLabel: '/s',
      logX: true,
      series: [
        {
          name: 'ledger',
          points: [
            [1, 100],
            [10, 500],
            [100, 900],
          ],
        },
      ],
    });
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs).toHaveLength(3);
    expect(
      Math.abs((xs[1] as number) - (xs[0] as number) - ((xs[2] as number) - (xs[1] as number))),
    ).toBeLessThan(0.2);
  });
});

describe('latencyChart', () => {
  it('draws p50, p95 and p99 against offered rate on a log axis, skipping empty phases', () => {
    const svg = latencyChart({
      title: 'e2e',
      rows: [
        { rate_per_s: 50, p50_ms: 4, p95_ms: 8, p99_ms: 12 },
        { rate_per_s: 500, p50_ms: 9, p95_ms: 30, p99_ms: 80 },
        { rate_per_s: 2000, p50_ms: Number.NaN, p95_ms: Number.NaN, p99_ms: Number.NaN },
      ],
      saturation: 1200,
      targets: [{ rate: 500, ms: 250 }],
    });
    expect(svg.match(/<circle /g)).toHaveLength(6);
    expect(svg).toContain('(log)');
    expect(svg).toContain('saturation 1200/s');
    expect(svg).toContain('p99 target at 500/s: 250 ms');
  });
});
