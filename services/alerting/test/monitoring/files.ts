import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@paysync/testkit';

/** The monitoring files kept with the chart. */
export const MONITORING_DIR = resolve(REPO_ROOT, 'charts/paysync/files/monitoring');
export const RULES_FILE = join(MONITORING_DIR, 'rules/paysync.rules.yaml');
export const RULE_TESTS_DIR = join(MONITORING_DIR, 'rules/tests');
export const ALERTMANAGER_FILE = join(MONITORING_DIR, 'alertmanager/alertmanager.example.yaml');
export const DASHBOARD_FILE = join(MONITORING_DIR, 'dashboards/paysync-overview.json');
export const RUNBOOKS_DIR = resolve(REPO_ROOT, 'docs/runbooks');

/** A Prometheus tool from the local infrastructure (.cache/bin) or PATH (Debian's packages). */
export function tool(
  name: 'promtool' | 'prometheus' | 'alertmanager' | 'amtool' | 'prometheus-pushgateway',
): string {
  const local = join(REPO_ROOT, '.cache/bin', name);
  return existsSync(local) ? local : name;
}

const run = promisify(execFile);

/** Runs a tool; resolves with its output whatever the exit code. */
export async function runTool(
  name: Parameters<typeof tool>[0],
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; output: string }> {
  try {
    const { stdout, stderr } = await run(tool(name), args, {
      cwd: opts.cwd ?? MONITORING_DIR,
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`,
    };
  }
}

export type DashboardTarget = { expr: string; refId: string; legendFormat?: string };
export type DashboardPanel = {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: (DashboardTarget & { datasource?: { type: string; uid: string } })[];
};
export type Dashboard = {
  uid: string;
  title: string;
  templating: { list: { name: string; type: string; query?: string }[] };
  panels: DashboardPanel[];
};

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every query panel's targets, with the panel title. */
export function dashboardQueries(
  d: Dashboard = loadDashboard(),
): { panel: string; refId: string; expr: string }[] {
  return d.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })),
  );
}

/**
 * Replaces Grafana's interval variables with what Grafana would send for a short range, and the
 * board's namespace variable with its "All"
 * (any query must also work with these values).
 */
export function withGrafanaVariables(expr: string, rateInterval = '1m'): string {
  return (
    expr
      .replaceAll('$__rate_interval', rateInterval)
      .replaceAll('$__interval', '15s')
      .replaceAll('$__range', '1h')
      // The namespace variable's "All" (every release; series without a namespace label too).
      .replaceAll('$namespace', '.*')
  );
}
