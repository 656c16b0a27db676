/**
 * Offline checks of k8s/observability: the alert rules pass `promtool check rules`
 * and their unit tests (alerts.promtool.yaml); the PrometheusRule carries the same
 * groups; the dashboard and the rules select only metrics the services really export
 * (their registries, read here), parsed by Prometheus' own PromQL parser
 * (promql-names). Both Go tools come from tools/promtool/build.sh (`make setup`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { aiCoreMetrics } from '../../ai-core-service/src/metrics';
import { configSchema as gatewaySchema } from '../../gateway-service/src/config';
import { gatewayMetrics } from '../../gateway-service/src/metrics';

const root = path.join(__dirname, '../..');
const dir = path.join(root, 'k8s/observability');
const RULES = path.join(dir, 'alerts.rules.yaml');
const tool = (name: string) => {
  const file = path.join(root, '.tools/bin', name);
  if (!existsSync(file)) throw new Error(`${file} is missing: run tools/promtool/build.sh (make setup does)`);
  return file;
};

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
const groups = (): { name: string; rules: Rule[] }[] => parse(readFileSync(RULES, 'utf8')).groups;
const dashboard = () => JSON.parse(readFileSync(path.join(dir, 'grafana-dashboard.json'), 'utf8'));
type Panel = { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string; datasource?: { uid: string } }[]; panels?: Panel[] };
const panelsOf = (d: { panels: Panel[] }): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');

/** Every name a scrape of both services can show: histograms as _bucket, _sum and _count. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const { registry } of [aiCoreMetrics({ pendingWriteBacks: () => 0 }), gatewayMetrics()]) {
    for (const m of await registry.getMetricsAsJSON()) {
      const suffixes = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] }[String(m.type)] ?? [''];
      for (const s of suffixes) names.add(m.name + s);
    }
  }
  return names;
}

/** What is wrong with each expression: a parse error, a selector without a name, or a name no service exports. */
function problems(exprs: { where: string; expr: string }[], exported: Set<string>): string[] {
  // Grafana substitutes its interval variables before the query reaches Prometheus.
  const promql = exprs.map((e) => e.expr.replace(/\$__(rate_interval|interval|range)/g, '5m'));
  const out: { names?: string[]; error?: string }[] = JSON.parse(execFileSync(tool('promql-names'), { input: JSON.stringify(promql), encoding: 'utf8' }));
  return out.flatMap((r, i) =>
    r.error ? [`${exprs[i]!.where}: ${r.error}`] : (r.names ?? []).filter((n) => !exported.has(n)).map((n) => `${exprs[i]!.where}: ${n} is not exported`),
  );
}

const run = (args: string[]) => spawnSync(tool('promtool'), args, { cwd: root, encoding: 'utf8' });

describe('alert rules', () => {
  test('promtool check rules accepts them', () => {
    const r = run(['check', 'rules', RULES]);
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  test('their unit tests pass: each alert fires on its synthetic series, not on the near misses', () => {
    const r = run(['test', 'rules', path.join(__dirname, 'alerts.promtool.yaml')]);
    if (r.status !== 0) throw new Error(`promtool test rules failed:\n${r.stdout}${r.stderr}`);
  });

  test('the PrometheusRule carries the same groups as the plain rules file', () => {
    const crd = parse(readFileSync(path.join(dir, 'prometheus-rule.yaml'), 'utf8'));
    expect(crd.kind).toBe('PrometheusRule');
    expect(crd.spec.groups).toEqual(groups());
  });

  test('the latency alert fires above the request budget (REQUEST_TIMEOUT_MS), a bucket bound of the HTTP histogram', () => {
    const rule = groups()
      .flatMap((g) => g.rules)
      .find((r) => r.alert === 'ContextQaLatencyOverBudget');
    const threshold = Number(/>\s*(\d+(?:\.\d+)?)\s*$/.exec(rule!.expr)?.[1]);
    expect(threshold).toBe(gatewaySchema.shape.REQUEST_TIMEOUT_MS.parse(undefined) / 1000);
    const text = readFileSync(path.join(root, 'packages/common/src/metrics.ts'), 'utf8');
    expect(text).toMatch(new RegExp(`buckets: \\[[^\\]]*\\b${threshold}\\b`));
  });
});

describe('dashboard', () => {
  test('every panel and query takes its datasource from the DS_PROMETHEUS variable', () => {
    const d = dashboard();
    expect(d.templating.list).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' }));
    for (const p of panelsOf(d)) {
      expect({ panel: p.title, uid: p.datasource?.uid }).toEqual({ panel: p.title, uid: '${DS_PROMETHEUS}' });
      for (const t of p.targets ?? []) expect({ panel: p.title, uid: t.datasource?.uid }).toEqual({ panel: p.title, uid: '${DS_PROMETHEUS}' });
    }
  });

  test('kustomize renders the folder: PodMonitor, PrometheusRule, and the dashboard as a ConfigMap for Grafana', () => {
    const out = execFileSync(tool('kustomize'), ['build', dir], { encoding: 'utf8' });
    const docs = parseAllDocuments(out).map((d) => d.toJS());
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule']);
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['grafana-dashboard.json'])).toEqual(dashboard());
  });
});

describe('metric names in the queries', () => {
  let exported: Set<string>;
  beforeAll(async () => {
    exported = await exportedNames();
  });

  test('the dashboard and the alert rules select only metrics the services export', () => {
    const exprs = [
      ...panelsOf(dashboard()).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard "${p.title}"`, expr: t.expr }))),
      ...groups().flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr }))),
    ];
    expect(exprs.length).toBeGreaterThan(20);
    expect(problems(exprs, exported)).toEqual([]);
  });

  test('the check catches a misspelt name, a missing histogram suffix, an unnamed selector and a syntax error', () => {
    const bad = [
      'sum(rate(gen_ai_client_operation_duration_secnds_count[5m]))',
      'rate(gen_ai_client_token_usage[5m])',
      'sum(rate({__name__=~"gen_ai_.*"}[5m]))',
      'sum(rate(http_request_duration_seconds_count[5m])',
    ].map((expr, i) => ({ where: `bad ${i}`, expr }));
    const found = problems(bad, exported);
    expect(found.map((p) => p.split(':')[0])).toEqual(['bad 0', 'bad 1', 'bad 2', 'bad 3']);
    expect(found[0]).toContain('gen_ai_client_operation_duration_secnds_count is not exported');
    expect(problems([{ where: 'good', expr: 'histogram_quantile(0.99, sum by (le) (rate(gen_ai_client_token_usage_bucket[$__rate_interval])))' }], exported)).toEqual([]);
  });
});
