// npm run bench [-- <scenario>…]: runs benchmark scenarios against the real local servers and the
// sandbox, writes bench/results/<scenario>.json, and prints one table with each figure beside its
// target. The scenarios live in bench/scenarios/<name>.ts and export `scenario`.
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quietKafkajsNegativeTimer } from '@paysync/kafka';
import { type BenchResult, machine, type Scenario, writeResult } from './result.ts';

// The scenarios also build kafkajs clients through the test helpers, not only through createKafka.
quietKafkajsNegativeTimer();

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const available = (await readdir(dir)).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const w of wanted) {
  if (!available.includes(w)) {
    console.error(`unknown scenario "${w}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
}

const results: BenchResult[] = [];
let failed = false;
for (const name of wanted.length > 0 ? wanted : available) {
  const { scenario } = (await import(join(dir, `${name}.ts`))) as { scenario: Scenario };
  console.log(`\n▶ ${scenario.name}: ${scenario.description}`);
  const started = Date.now();
  try {
    const r = await scenario.run();
    const result: BenchResult = {
      scenario: scenario.name,
      ...r,
      machine: machine(),
      at: new Date().toISOString(),
    };
    const file = await writeResult(result);
    results.push(result);
    console.log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s → ${file}`);
  } catch (err) {
    failed = true;
    console.error(`  ${scenario.name} failed: ${(err as Error).stack ?? err}`);
  }
}

const fmt = (n: number | undefined) =>
  n === undefined ? '' : Number.isInteger(n) ? String(n) : n.toFixed(2);
console.log('\nscenario               value            baseline              ratio   target        pass');
for (const r of results) {
  const target = Object.entries(r.target)
    // Upper bounds (latencies, times) are named max_… or …_ms; everything else is a floor.
    .map(([k, v]) => `${k}${/^max_|_ms$/.test(k) ? '<' : '≥'}${fmt(v)}`)
    .join(' ');
  console.log(
    `${r.scenario.padEnd(22)} ${`${fmt(r.value)} ${r.unit}`.padEnd(16)} ${(r.baseline ? `${fmt(r.baseline.value)} (${r.baseline.name})` : '').padEnd(21)} ${fmt(r.ratio).padEnd(7)} ${target.padEnd(13)} ${r.pass ? 'yes' : 'NO'}`,
  );
}
const m = machine();
console.log(`\nmachine: ${m.cpus} cpus (${m.cpu_model}), ${m.memory_gb} GiB, Node ${m.node}`);
process.exit(failed ? 1 : 0);
