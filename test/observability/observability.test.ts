/**
 * Offline checks of k8s/observability: the alert rules pass `promtool check rules`
 * and their unit tests (alerts.promtool.yaml); the PrometheusRule carries the same
 * groups; the dashboard and the rules select only metrics the services really export
 * (their registries, read here), group and match only by labels those metrics carry,
 * and match enumerated labels only with values the code gives them; all parsed by
 * Prometheus' own PromQL parser (promql-names). Both Go tools come from
 * `third_party/build promtool` (`make setup`; into $PROMTOOL_OUT when set).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MODEL_ERROR_CODES, type ModelErrorCode } from '@context-qa/common/contract';
import { parse, parseAllDocuments } from 'yaml';
import type { AnswerLookupOutcome, AnswerWriteOutcome } from '../../ai-core-service/src/domain/answer-cache';
import type { WriteBackOutcome } from '../../ai-core-service/src/domain/cache-sync';
import type { ContextDeps } from '../../ai-core-service/src/domain/context';
import { aiCoreMetrics } from '../../ai-core-service/src/metrics';
import { configSchema as gatewaySchema } from '../../gateway-service/src/config';
import type { LimitReason, StoreFailure } from '../../gateway-service/src/domain/rate-limiter';
import { gatewayMetrics } from '../../gateway-service/src/metrics';

const root = path.join(__dirname, '../..');
const dir = path.join(root, 'k8s/observability');
const RULES = path.join(dir, 'alerts.rules.yaml');
const TOOLS = path.join(root, '.tools/bin');
const tool = (name: string, bin = process.env.PROMTOOL_OUT || TOOLS) => {
  const file = path.join(bin, name);
  if (!existsSync(file)) {
    throw new Error(
      `${file} is missing: run third_party/build promtool (make setup does), which needs Go on PATH to build it (setup only warns without Go)`,
    );
  }
  return file;
};

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}
const groups = (): RuleGroup[] => (parse(readFileSync(RULES, 'utf8')) as { groups: RuleGroup[] }).groups;
const dashboard = () => JSON.parse(readFileSync(path.join(dir, 'grafana-dashboard.json'), 'utf8')) as Dashboard;
type Panel = {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
};
/** The fields of grafana-dashboard.json these tests read. */
interface Dashboard {
  templating: { list: unknown[] };
  panels: Panel[];
}

/** The fields of the Kubernetes objects in k8s/ these tests read. */
interface PrometheusRule {
  kind: string;
  spec: { groups: RuleGroup[] };
}
interface ConfigMap {
  kind: string;
  metadata: { labels: { grafana_dashboard?: string } };
  data: { 'grafana-dashboard.json': string };
}
interface PodMonitor {
  spec: {
    jobLabel: string;
    selector: { matchExpressions: { key: string; values: string[] }[] };
    podMetricsEndpoints: { port: string }[];
  };
}
interface Deployment {
  kind: string;
  spec: {
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': string } };
      spec: { containers: { ports?: { name?: string }[] }[] };
    };
  };
}
const panelsOf = (d: { panels: Panel[] }): Panel[] =>
  d.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');

/** The services' default label (createMetrics: registry.setDefaultLabels). */
const DEFAULT_LABELS = ['service'];
/** The labels the Prometheus Operator gives each target of pod-monitor.yaml (and so every series it scrapes). */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint'];
/** Series Prometheus adds per scrape target, with the target labels only. */
const SCRAPE_SERIES = ['up'];

/** Every member of a union of strings (tsc fails when one is missing or unknown). */
const every = <T extends string>(members: Record<T, true>) => Object.keys(members) as T[];
type ContextObserve = NonNullable<ContextDeps['observe']>;
type Gateway = ReturnType<typeof gatewayMetrics>;
const TOKEN_TYPES = every<Parameters<Gateway['tokens']>[2]>({ input: true, output: true });
/** Outcome codes aiCoreMetrics counts as refusals (model_calls_refused_total), not as calls. */
const REFUSALS: ModelErrorCode[] = ['overloaded', 'circuit_open'];
/**
 * The values the code gives enumerated labels, per metric (histograms: all three series):
 * =, != and plain alternations (a|b) in matchers must use these. Other labels' values
 * (route, model, method…) are not checked.
 */
const LABEL_VALUES: Record<string, Record<string, readonly string[] | RegExp>> = {
  http_request_duration_seconds: { status: /^[1-5]\d\d$/ },
  gen_ai_client_operation_duration_seconds: {
    // "" selects the calls without error_type: the answered ones.
    error_type: ['', ...(Object.keys(MODEL_ERROR_CODES) as ModelErrorCode[]).filter((c) => !REFUSALS.includes(c))],
    gen_ai_operation_name: ['chat'],
  },
  gen_ai_client_token_usage: { gen_ai_token_type: TOKEN_TYPES, gen_ai_operation_name: ['chat'] },
  model_calls_refused_total: { code: REFUSALS },
  context_lookup_duration_seconds: {
    store: every<Parameters<ContextObserve>[0]>({ cache: true, store: true }),
    outcome: every<Parameters<ContextObserve>[1]>({ hit: true, miss: true, error: true }),
  },
  context_cache_writebacks_total: {
    outcome: every<WriteBackOutcome>({ written: true, conflict: true, expired: true, error: true }),
  },
  answer_cache_lookups_total: {
    outcome: every<AnswerLookupOutcome>({ hit: true, miss: true, bypass: true, error: true }),
  },
  answer_cache_writes_total: { outcome: every<AnswerWriteOutcome>({ written: true, error: true }) },
  gateway_rate_limit_decisions_total: {
    decision: [...every<Parameters<Gateway['rateLimit']>[0]>({ admitted: true, refused: true }), 'store_error'],
    reason: [
      '', // admitted
      ...every<LimitReason>({
        requests_per_minute: true,
        tokens_per_minute: true,
        tokens_per_day: true,
        in_flight: true,
        busy: true,
      }),
      'overloaded', // refused by admission (server.ts), before any key is known
      'overloaded_event_loop',
      ...every<Extract<StoreFailure, 'fallback' | 'fail_closed'>>({ fallback: true, fail_closed: true }), // store_error
    ],
  },
  gateway_rate_limit_lost_updates_total: {
    operation: every<Exclude<StoreFailure, 'fallback' | 'fail_closed'>>({ release: true, renew: true, charge: true }),
  },
  gateway_key_tokens_total: { gen_ai_token_type: TOKEN_TYPES },
};

/** Per series name a scrape of both services can show (histograms as _bucket, _sum and _count): its labels and its metric. */
type Exported = Map<string, { metric: string; labels: Set<string> }>;
function exportedSeries(): Exported {
  const series: Exported = new Map(SCRAPE_SERIES.map((n) => [n, { metric: n, labels: new Set(TARGET_LABELS) }]));
  const gateway = gatewayMetrics();
  gateway.watchKeys({ unreadForMs: 0 }); // the key-list age gauge exists once a key source is watched
  for (const { registry } of [aiCoreMetrics({ pendingWriteBacks: () => 0 }), gateway]) {
    // prom-client's metric objects keep their labelNames; its types do not declare them.
    for (const m of registry.getMetricsAsArray() as unknown as {
      name: string;
      type: unknown;
      labelNames?: readonly string[];
    }[]) {
      const own = [...DEFAULT_LABELS, ...TARGET_LABELS, ...(m.labelNames ?? [])];
      const suffixes: Record<string, string[]> = {
        histogram: { _bucket: ['le'], _sum: [], _count: [] },
        summary: { '': ['quantile'], _sum: [], _count: [] },
      }[String(m.type)] ?? { '': [] };
      for (const [suffix, extra] of Object.entries(suffixes))
        series.set(m.name + suffix, { metric: m.name, labels: new Set([...own, ...extra]) });
    }
  }
  return series;
}

interface Analysis {
  names?: string[];
  selectors?: { name: string; matchers: { label: string; op: string; value: string }[] }[];
  labels?: { label: string; in: string; names: string[] }[];
  error?: string;
}

/** promql-names' analysis of each expression (Grafana's interval variables substituted, as Grafana does before querying). */
const analyse = (exprs: string[]): Analysis[] =>
  JSON.parse(
    execFileSync(tool('promql-names'), {
      input: JSON.stringify(exprs.map((e) => e.replace(/\$__(rate_interval|interval|range)/g, '5m'))),
      encoding: 'utf8',
    }),
  ) as Analysis[];

/**
 * What is wrong with each expression: a parse error, a selector without a name, a name
 * no service exports, a label (matcher, by/without, on/ignoring, group_left/right,
 * label_replace/label_join source) its metric does not carry, or a value an enumerated
 * label never takes.
 */
function problems(exprs: { where: string; expr: string }[], exported: Exported): string[] {
  const found = new Set<string>();
  analyse(exprs.map((e) => e.expr)).forEach((r, i) => {
    const where = exprs[i]!.where;
    if (r.error) return void found.add(`${where}: ${r.error}`);
    for (const n of r.names ?? []) if (!exported.has(n)) found.add(`${where}: ${n} is not exported`);
    const label = (name: string, l: string, as: string) => {
      const series = exported.get(name);
      if (series && !series.labels.has(l))
        found.add(
          `${where}: ${name} has no label ${l} (used in ${as}); it has ${[...series.labels].sort().join(', ')}`,
        );
      return series?.labels.has(l) === true;
    };
    for (const s of r.selectors ?? []) {
      for (const m of s.matchers) {
        if (!label(s.name, m.label, `{${m.label}${m.op}"${m.value}"}`)) continue;
        const known = LABEL_VALUES[exported.get(s.name)!.metric]?.[m.label];
        if (!known) continue;
        // =, != and plain alternations: their values; other regular expressions are not checked.
        const alternation = /^[\w|]*$/.test(m.value) ? m.value.split('|') : [];
        const values = m.op === '=' || m.op === '!=' ? [m.value] : alternation;
        for (const v of values) {
          if (known instanceof RegExp ? !known.test(v) : !known.includes(v)) {
            found.add(
              `${where}: ${s.name}{${m.label}${m.op}"${m.value}"}: ${m.label} is never "${v}"; it is ${known instanceof RegExp ? String(known) : known.map((k) => `"${k}"`).join(', ')}`,
            );
          }
        }
      }
    }
    for (const u of r.labels ?? []) for (const n of u.names) label(n, u.label, `${u.in} (${u.label})`);
  });
  return [...found];
}

/** The number an alert's expression ends comparing with (`… > 48000`). */
const thresholdOf = (alert: string) => {
  const rule = groups()
    .flatMap((g) => g.rules)
    .find((r) => r.alert === alert);
  return Number(/>\s*(\d+(?:\.\d+)?)\s*$/.exec(rule!.expr)?.[1]);
};

/** A gateway env value as the EKS manifests ship it (k8s/base/gateway.yaml), else the config default. */
const shippedGatewayEnv = (name: keyof typeof gatewaySchema.shape): number => {
  type EnvDeployment = {
    kind: string;
    spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
  };
  const docs = parseAllDocuments(readFileSync(path.join(root, 'k8s/base/gateway.yaml'), 'utf8')).map(
    (d) => d.toJS() as EnvDeployment | null,
  );
  const env = docs.find((d) => d?.kind === 'Deployment')!.spec.template.spec.containers.flatMap((c) => c.env ?? []);
  const value = env.find((e) => e.name === name)?.value;
  return Number(value ?? gatewaySchema.shape[name].parse(undefined));
};

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
    const crd = parse(readFileSync(path.join(dir, 'prometheus-rule.yaml'), 'utf8')) as PrometheusRule;
    expect(crd.kind).toBe('PrometheusRule');
    expect(crd.spec.groups).toEqual(groups());
  });

  test('the latency alert fires above the request budget (REQUEST_TIMEOUT_MS), a bucket bound of the HTTP histogram', () => {
    const threshold = thresholdOf('ContextQaLatencyOverBudget');
    expect(threshold).toBe(gatewaySchema.shape.REQUEST_TIMEOUT_MS.parse(undefined) / 1000);
    const text = readFileSync(path.join(root, 'packages/common/src/telemetry/metrics.ts'), 'utf8');
    expect(text).toMatch(new RegExp(`buckets: \\[[^\\]]*\\b${threshold}\\b`));
  });
});

describe('alert thresholds in step with the shipped configuration', () => {
  test('the key-spend alert fires at half the daily token budget the EKS manifests ship, spent within an hour', () => {
    const tpd = shippedGatewayEnv('RATE_LIMIT_DEFAULT_TPD');
    expect(tpd).toBeGreaterThan(0);
    expect(thresholdOf('ContextQaKeySpendHigh')).toBe(tpd / 2);
  });

  test('the key-list alert fires after several failed refreshes, before readiness turns false (API_KEYS_MAX_STALENESS_MS)', () => {
    const thresholdMs = thresholdOf('ContextQaApiKeysStale') * 1000;
    expect(thresholdMs).toBeGreaterThanOrEqual(3 * shippedGatewayEnv('API_KEYS_REFRESH_MS'));
    expect(thresholdMs).toBeLessThan(shippedGatewayEnv('API_KEYS_MAX_STALENESS_MS'));
  });
});

describe('dashboard', () => {
  test('every panel and query takes its datasource from the DS_PROMETHEUS variable', () => {
    const d = dashboard();
    expect(d.templating.list).toContainEqual(
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' }),
    );
    for (const p of panelsOf(d)) {
      expect({ panel: p.title, uid: p.datasource?.uid }).toEqual({ panel: p.title, uid: '${DS_PROMETHEUS}' });
      for (const t of p.targets ?? [])
        expect({ panel: p.title, uid: t.datasource?.uid }).toEqual({ panel: p.title, uid: '${DS_PROMETHEUS}' });
    }
  });

  test('kustomize renders the folder: PodMonitor, PrometheusRule, and the dashboard as a ConfigMap for Grafana', () => {
    const out = execFileSync(tool('kustomize', TOOLS), ['build', dir], { encoding: 'utf8' });
    const docs = parseAllDocuments(out).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule']);
    const cm = docs.find((d) => d.kind === 'ConfigMap') as ConfigMap;
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['grafana-dashboard.json'])).toEqual(dashboard());
  });
});

describe('metric and label names in the queries', () => {
  let exported: Exported;
  beforeAll(() => {
    exported = exportedSeries();
  });

  test('the dashboard and the alert rules select only metrics the services export, by labels those metrics carry, with values the code gives them', () => {
    const exprs = [
      ...panelsOf(dashboard()).flatMap((p) =>
        (p.targets ?? []).map((t) => ({ where: `dashboard "${p.title}"`, expr: t.expr })),
      ),
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
    expect(
      problems(
        [
          {
            where: 'good',
            expr: 'histogram_quantile(0.99, sum by (le) (rate(gen_ai_client_token_usage_bucket[$__rate_interval])))',
          },
        ],
        exported,
      ),
    ).toEqual([]);
  });

  test('the check catches a label a metric lacks (in a matcher, by, on, group_left, label_replace, or le off _bucket) and a value the code never gives', () => {
    const bad = [
      'sum by (modle) (rate(gen_ai_client_token_usage_sum[5m]))',
      'sum(rate(http_request_duration_seconds_count{code="500"}[5m]))',
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_count[5m])))',
      'sum(rate(gateway_rate_limit_decisions_total{decision="refuse"}[5m]))',
      'sum(rate(answer_cache_lookups_total{outcome=~"hit|hits"}[5m]))',
      'sum(rate(gen_ai_client_operation_duration_seconds_count{error_type="circuit_open"}[5m]))',
      'sum(rate(http_request_duration_seconds_count{status="5xx"}[5m]))',
      'up{service="gateway-service"} == 0',
      'http_requests_in_flight / on (route) sum by (route) (rate(http_request_duration_seconds_count[5m]))',
      'http_requests_in_flight * on (service) group_left (route) sum by (service) (model_breaker_state)',
      'label_replace(model_breaker_state, "m", "$1", "modle", "(.*)")',
    ].map((expr, i) => ({ where: `bad ${i}`, expr }));
    const found = problems(bad, exported);
    expect(found.map((p) => p.split(':')[0])).toEqual(bad.map((b) => b.where));
    expect(found[0]).toContain('gen_ai_client_token_usage_sum has no label modle (used in by (modle))');
    expect(found[2]).toContain('http_request_duration_seconds_count has no label le');
    expect(found[3]).toContain('decision is never "refuse"; it is "admitted", "refused", "store_error"');
    expect(found[4]).toContain('outcome is never "hits"');
    expect(found[8]).toContain('http_requests_in_flight has no label route (used in on (route))');
    const good = [
      'histogram_quantile(0.99, sum by (model, le) (rate(gen_ai_client_operation_duration_seconds_bucket{error_type="", job="ai-core-service", namespace="x", pod="y", instance="z"}[5m])))',
      'sum(rate(gen_ai_client_operation_duration_seconds_count{error_type!~"|cancelled|not_needed"}[5m]))',
      'sum by (kind) (rate(nodejs_gc_duration_seconds_count{service="ai-core-service"}[5m]))',
      'sum by (ok) (label_replace(model_breaker_state, "ok", "$1", "model", "(.*)"))',
      'up{job="gateway-service", endpoint="metrics", container="gateway-service"} == 0',
    ].map((expr, i) => ({ where: `good ${i}`, expr }));
    expect(problems(good, exported)).toEqual([]);
  });

  test("the alerts on `up` select the PodMonitor's targets: job is the pod's app.kubernetes.io/name, endpoint a port every selected pod names", () => {
    const monitor = parse(readFileSync(path.join(dir, 'pod-monitor.yaml'), 'utf8')) as PodMonitor;
    expect(monitor.spec.jobLabel).toBe('app.kubernetes.io/name');
    const selected: string[] = monitor.spec.selector.matchExpressions.find(
      (e: { key: string }) => e.key === 'app.kubernetes.io/name',
    )!.values;
    const endpoints: string[] = monitor.spec.podMetricsEndpoints.map((e: { port: string }) => e.port);
    // The pods' ports by app.kubernetes.io/name, from the Deployments in k8s/base.
    const ports = new Map<string, string[]>();
    for (const file of ['gateway.yaml', 'ai-core.yaml']) {
      for (const d of parseAllDocuments(readFileSync(path.join(root, 'k8s/base', file), 'utf8')).map(
        (x) => x.toJS() as Deployment | null,
      )) {
        if (d?.kind !== 'Deployment') continue;
        const containers = d.spec.template.spec.containers;
        ports.set(
          d.spec.template.metadata.labels['app.kubernetes.io/name'],
          containers.flatMap((c) => (c.ports ?? []).map((p) => p.name ?? '')),
        );
      }
    }
    const rules = groups().flatMap((g) => g.rules);
    const ups = analyse(rules.map((r) => r.expr)).flatMap((r) => (r.selectors ?? []).filter((s) => s.name === 'up'));
    expect(ups.length).toBeGreaterThan(0);
    const jobs = new Set<string>();
    for (const { matchers } of ups) {
      const job = matchers.find((m) => m.label === 'job');
      const endpoint = matchers.find((m) => m.label === 'endpoint');
      expect({ job: job?.op, endpoint: endpoint?.op }).toEqual<Record<string, unknown>>({
        job: expect.stringMatching(/^=~?$/),
        endpoint: '=',
      });
      for (const j of job!.op === '=' ? [job!.value] : job!.value.split('|')) {
        jobs.add(j);
        expect({ job: j, selected: selected.includes(j) }).toEqual({ job: j, selected: true });
        expect({ job: j, ports: ports.get(j) }).toEqual<Record<string, unknown>>({
          job: j,
          ports: expect.arrayContaining([endpoint!.value]),
        });
      }
      expect(endpoints).toContain(endpoint!.value);
    }
    // Every scraped service has its down and missing alerts.
    expect([...jobs].sort()).toEqual([...selected].sort());
    for (const alert of ['ContextQaTargetDown', 'ContextQaTargetMissing'])
      expect(rules.map((r) => r.alert)).toContain(alert);
  });
});
