/**
 * The deadline chain is consistent by construction (docs/deadlines-and-errors.md): the
 * sidecars' resiliency timeouts, the services' defaults and the Kubernetes
 * overrides and grace periods are read from the files we ship and checked
 * against each other, so a change to one that contradicts another fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '@context-qa/common/config';
import { configSchema as aiCoreSchema } from '../../ai-core-service/src/config';
import { configSchema as gatewaySchema } from '../../gateway-service/src/config';

/** The fields of the Kubernetes and Dapr documents this test reads. */
interface Manifest {
  kind?: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: unknown;
}
interface Container {
  env?: { name: string; value?: unknown }[];
  envFrom?: { configMapRef?: { name: string } }[];
}
interface Deployment extends Manifest {
  spec: {
    template: {
      metadata: { annotations: Record<string, string> };
      spec: { terminationGracePeriodSeconds: number; containers: Container[] };
    };
  };
}
interface ResiliencySpec {
  policies: {
    timeouts: Record<string, string>;
    retries: Record<string, { maxRetries?: number; duration?: string; maxInterval?: string }>;
  };
  targets: {
    apps: Record<string, { timeout: string }>;
    components: Record<string, { outbound: { timeout: string; retry?: string } }>;
  };
}
interface Resiliency extends Manifest {
  spec: ResiliencySpec;
}

const root = path.join(__dirname, '../..');
const docs = (file: string) =>
  parseAllDocuments(readFileSync(path.join(root, file), 'utf8')).map((d) => d.toJS() as Manifest | null);

/** Go durations as Dapr writes them: 250ms, 1s, 1m30s. */
function ms(duration: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(n) * units[unit!]!;
  return total;
}

/** Worst time one state call may take in the sidecar: every attempt at its timeout, plus the waits between them. */
function sidecarStateBudget(spec: ResiliencySpec, component: string): number {
  const target = spec.targets.components[component]!.outbound;
  const timeout = ms(spec.policies.timeouts[target.timeout]!);
  const retry = target.retry ? spec.policies.retries[target.retry] : undefined;
  const retries = retry?.maxRetries ?? 0;
  const wait = retry ? ms(retry.duration ?? retry.maxInterval ?? '0ms') : 0;
  return (retries + 1) * timeout + retries * wait;
}

/** A Deployment's env as the pod sees it: inline values over its ConfigMaps' data. */
function podEnv(file: string): Record<string, string> {
  const all = docs(file);
  const deployment = all.find((d) => d?.kind === 'Deployment') as Deployment;
  const container = deployment.spec.template.spec.containers[0]!;
  const fromMaps = (container.envFrom ?? [])
    .map((e) => all.find((d) => d?.kind === 'ConfigMap' && d.metadata.name === e.configMapRef?.name)?.data ?? {})
    .reduce((a: object, b: object) => ({ ...a, ...b }), {});
  const inline = Object.fromEntries(
    (container.env ?? []).filter((e) => 'value' in e).map((e): [string, string] => [e.name, String(e.value)]),
  );
  const pod = deployment.spec.template;
  return {
    ...fromMaps,
    ...inline,
    GRACE_S: String(pod.spec.terminationGracePeriodSeconds),
    SIDECAR_BLOCK: String(pod.metadata.annotations['dapr.io/block-shutdown-duration']),
    SIDECAR_GRACE_S: String(pod.metadata.annotations['dapr.io/graceful-shutdown-seconds']),
  };
}

/** What the gateway keeps for its own hop (ai-core-invoker.ts). */
const HOP_MARGIN_MS = 250;

/** The one setting the manifests leave as a placeholder. */
const SIM = { AZURE_OPENAI_ENDPOINT: 'https://example.invalid' };

describe.each([
  ['local', 'dapr/resources/resiliency.yaml', {}, {}],
  ['eks', 'k8s/base/dapr/resiliency.yaml', podEnv('k8s/base/gateway.yaml'), podEnv('k8s/base/ai-core.yaml')],
])('the deadline chain (%s)', (_name, resiliencyFile, gatewayEnv, aiCoreEnv) => {
  const spec = (docs(resiliencyFile).find((d) => d?.kind === 'Resiliency') as Resiliency).spec;
  const gateway = loadConfig(gatewaySchema, { ...gatewayEnv, ...SIM });
  const aiCore = loadConfig(aiCoreSchema, { ...aiCoreEnv, ...SIM });

  test("when the gateway's budget runs out, then it answers itself: its sidecar waits longer for ai-core", () => {
    expect(ms(spec.policies.timeouts[spec.targets.apps['ai-core-service']!.timeout]!)).toBeGreaterThan(
      gateway.REQUEST_TIMEOUT_MS,
    );
  });

  test('when a state call is slow, then the sidecar ends it before ai-core stops waiting', () => {
    expect(sidecarStateBudget(spec, 'context-cache')).toBeLessThan(aiCore.CACHE_TIMEOUT_MS);
    expect(sidecarStateBudget(spec, 'context-store')).toBeLessThan(aiCore.STORE_TIMEOUT_MS);
    expect(sidecarStateBudget(spec, 'answer-cache')).toBeLessThan(aiCore.CACHE_TIMEOUT_MS);
    expect(sidecarStateBudget(spec, 'rate-limits')).toBeLessThan(gateway.RATE_LIMIT_TIMEOUT_MS);
  });

  test('when a model hangs, then its whole deadline fits in what the gateway passes on, so the hang counts against it', () => {
    const lookupAndModel = aiCore.CACHE_TIMEOUT_MS + aiCore.STORE_TIMEOUT_MS + aiCore.MODEL_TIMEOUT_MS;
    expect(lookupAndModel).toBeLessThanOrEqual(aiCore.REQUEST_TIMEOUT_MS);
    expect(lookupAndModel + HOP_MARGIN_MS).toBeLessThan(gateway.REQUEST_TIMEOUT_MS);
  });

  test('when a pod is stopped, then it serves what its sidecar still forwards, and may drain one whole request before it is killed', () => {
    for (const [c, env] of [
      [gateway, gatewayEnv],
      [aiCore, aiCoreEnv],
    ] as const) {
      expect(c.SHUTDOWN_GRACE_MS).toBeGreaterThanOrEqual(c.REQUEST_TIMEOUT_MS);
      const e = env as Record<string, string>;
      if (!e['GRACE_S']) continue;
      const [grace, block, sidecarGrace] = [
        Number(e['GRACE_S']) * 1000,
        ms(e['SIDECAR_BLOCK']!),
        Number(e['SIDECAR_GRACE_S']) * 1000,
      ];
      // the app drains and exits before the kubelet's SIGKILL, and so does its sidecar
      expect(c.SHUTDOWN_DELAY_MS + c.SHUTDOWN_GRACE_MS).toBeLessThan(grace);
      expect(block + sidecarGrace).toBeLessThan(grace);
      if (c === aiCore) {
        // invoked through its sidecar: it keeps serving until that sidecar has closed the
        // connections its callers pooled to it (block, then its own drain)
        expect(c.SHUTDOWN_DELAY_MS).toBeGreaterThanOrEqual(block + sidecarGrace);
      } else {
        // the sidecar keeps its APIs up while the app drains (the app's calls go through it)
        expect(block).toBeGreaterThanOrEqual(c.SHUTDOWN_DELAY_MS + c.SHUTDOWN_GRACE_MS);
      }
    }
  });
});
