// A small SVG line-chart writer for the benchmark results: no browser, no network, no dependency.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULTS_DIR } from './result.ts';

export type Series = { name: string; points: readonly (readonly [number, number])[]; dashed?: boolean };
export type Rule = { value: number; label: string };

export type LineChart = {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Horizontal reference lines (targets, limits). */
  hRules?: readonly Rule[];
  /** Vertical reference lines (a saturation point). */
  vRules?: readonly Rule[];
  /** Logarithmic y axis (latencies spanning milliseconds to seconds). */
  logY?: boolean;
  /** Logarithmic x axis (batch sizes from 1 to hundreds). */
  logX?: boolean;
};

const W = 760;
const H = 420;
const M = { left: 72, right: 180, top: 40, bottom: 52 };
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** 1, 2, 5 × 10^k steps covering [lo, hi] with about `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Powers of ten (with 2 and 5 between when the range is short) covering [lo, hi]. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const steps = Math.log10(hi / lo) <= 3 ? [1, 2, 5] : [1];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of steps) {
      const t = m * 10 ** k;
      if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(Number(t.toPrecision(12)));
    }
  }
  return ticks;
}

/** An axis over `values`: its ticks and where a value falls on it (0 at the start, 1 at the end). */
function axis(values: number[], log: boolean, headroom: number) {
  if (log) {
    const positive = values.filter((v) => v > 0);
    const lo0 = Math.min(...positive, Math.max(...positive, 1)) * 0.8;
    const hi0 = Math.max(...positive, 10) * 1.25;
    const ticks = logTicks(lo0, hi0);
    const [lo, hi] = [Math.min(lo0, ticks[0] ?? lo0), Math.max(hi0, ticks.at(-1) ?? hi0)];
    const span = Math.log10(hi) - Math.log10(lo) || 1;
    return { ticks, share: (v: number) => (Math.log10(v) - Math.log10(lo)) / span };
  }
  const lo = Math.min(...values, 0);
  const hi0 = Math.max(...values, 1) * (1 + headroom);
  const ticks = niceTicks(lo, hi0);
  const hi = Math.max(hi0, ticks.at(-1) ?? hi0);
  return { ticks, share: (v: number) => (v - lo) / (hi - lo || 1) };
}

/** The chart as an SVG document. Points with a non-finite or (on a log axis) non-positive y are skipped. */
export function lineChart(c: LineChart): string {
  const ok = ([x, y]: readonly [number, number]) =>
    Number.isFinite(y) && (!c.logY || y > 0) && (!c.logX || x > 0);
  const pts = c.series.flatMap((s) => s.points.filter(ok));
  const xs = [...pts.map(([x]) => x), ...(c.vRules ?? []).map((r) => r.value)];
  const ys = [...pts.map(([, y]) => y), ...(c.hRules ?? []).map((r) => r.value)];
  const xAxis = axis(xs, c.logX ?? false, 0);
  const yAxis = axis(ys, c.logY ?? false, 0.1);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + xAxis.share(x) * pw;
  const sy = (y: number) => M.top + ph - yAxis.share(y) * ph;
  const [xt, yt] = [xAxis.ticks, yAxis.ticks];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="24" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
  ];
  for (const t of yt) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${num(t)}</text>`,
    );
  }
  for (const t of xt) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${M.top + ph + 16}" text-anchor="middle">${num(t)}</text>`);
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(c.xLabel)}${c.logX ? ' (log)' : ''}</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}${c.logY ? ' (log)' : ''}</text>`,
  );
  for (const r of c.hRules ?? []) {
    if (c.logY && r.value <= 0) continue;
    const y = sy(r.value).toFixed(1);
    out.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#d62728" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${M.left + pw - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#d62728">${esc(r.label)}</text>`,
    );
  }
  for (const r of c.vRules ?? []) {
    if (c.logX && r.value <= 0) continue;
    const x = sx(r.value).toFixed(1);
    out.push(
      `<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + ph}" stroke="#555" stroke-dasharray="3 3"/>`,
    );
    // Near the right edge the label goes to the left of its line, clear of the legend.
    const left = Number(x) > M.left + pw * 0.75;
    out.push(
      `<text x="${Number(x) + (left ? -4 : 4)}" y="${M.top + 14}" fill="#555"${left ? ' text-anchor="end"' : ''}>${esc(r.label)}</text>`,
    );
  }
  for (const [k, s] of c.series.entries()) {
    const colour = COLOURS[k % COLOURS.length];
    const p = s.points.filter(ok);
    const path = p.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`).join(' ');
    if (p.length > 1)
      out.push(
        `<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      );
    // Dots mark measured points; a dense time series is clearer as a line alone.
    for (const [x, y] of p.length <= 40 ? p : [])
      out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = M.top + 10 + k * 18;
    out.push(
      `<line x1="${W - M.right + 14}" x2="${W - M.right + 36}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${W - M.right + 42}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Writes bench/results/<name>.svg beside the scenario's JSON; returns the path. */
export async function writeChart(name: string, svg: string): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.svg`);
  await writeFile(file, svg);
  return file;
}

/** Latency percentiles against offered rate, with the targets and the saturation rate marked. */
export function latencyChart(opts: {
  title: string;
  rows: readonly { rate_per_s: number; p50_ms: number; p95_ms: number; p99_ms: number }[];
  saturation?: number;
  targets?: readonly { rate: number; ms: number }[];
}): string {
  const series = (['p50_ms', 'p95_ms', 'p99_ms'] as const).map((q) => ({
    name: q.replace('_ms', ''),
    points: opts.rows.map((r) => [r.rate_per_s, r[q]] as const),
  }));
  return lineChart({
    title: opts.title,
    xLabel: 'offered rate (notifications/s)',
    yLabel: 'latency (ms)',
    logY: true,
    series,
    hRules: (opts.targets ?? []).map((t) => ({
      value: t.ms,
      label: `p99 target at ${t.rate}/s: ${t.ms} ms`,
    })),
    vRules: opts.saturation ? [{ value: opts.saturation, label: `saturation ${opts.saturation}/s` }] : [],
  });
}
