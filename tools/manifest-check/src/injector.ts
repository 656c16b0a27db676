/**
 * Pod Security admits the Pod *after* the Dapr sidecar injector has added daprd, so the
 * injector's settings are part of our posture. Its Helm chart keeps daprd's Linux
 * capabilities by default (`dapr_sidecar_injector.sidecarDropALLCapabilities: false`),
 * and "restricted" requires every container to drop ALL: in a namespace that enforces
 * it, every Dapr Pod is rejected (the ReplicaSet only logs FailedCreate). Found by
 * `make check-cluster` on a real control plane; this keeps the values we install
 * Dapr with (docs/deploy-eks.md step 1) from losing the setting.
 */
import { type Doc } from './load';
import type { Fail } from './rules';

export const DAPR_HELM_VALUES = 'k8s/dapr/helm-values.yaml';

/** Sidecar settings "restricted" needs, and the value each must have. */
const REQUIRED: [string, boolean][] = [
  ['sidecarDropALLCapabilities', true],
  ['sidecarRunAsNonRoot', true],
  ['sidecarReadOnlyRootFilesystem', true],
];
/** The chart's own defaults for them (dapr v1.18.3 charts/dapr_sidecar_injector/values.yaml). */
const CHART_DEFAULTS: Record<string, boolean> = {
  sidecarDropALLCapabilities: false,
  sidecarRunAsNonRoot: true,
  sidecarReadOnlyRootFilesystem: true,
};

const enforcesRestricted = (docs: Doc[]) =>
  docs.some(
    (d) =>
      d.obj['kind'] === 'Namespace' &&
      (d.obj['metadata'] as { labels?: Record<string, string> } | undefined)?.labels?.[
        'pod-security.kubernetes.io/enforce'
      ] === 'restricted',
  );
const injected = (docs: Doc[]) =>
  docs.some(
    (d) =>
      d.obj['kind'] === 'Deployment' && d.obj['spec']?.template?.metadata?.annotations?.['dapr.io/enabled'] === 'true',
  );

/** `values`: the parsed DAPR_HELM_VALUES, undefined when the file is missing. */
export function checkInjectorValues(rendered: Doc[][], values: unknown, fail: Fail): void {
  if (!rendered.some((docs) => enforcesRestricted(docs) && injected(docs))) return;
  const injector =
    (values as { dapr_sidecar_injector?: Record<string, unknown> } | undefined)?.dapr_sidecar_injector ?? {};
  for (const [key, want] of REQUIRED) {
    const value = injector[key] ?? CHART_DEFAULTS[key];
    if (value !== want) {
      fail(
        DAPR_HELM_VALUES,
        `dapr_sidecar_injector.${key} is ${JSON.stringify(value)}${key in injector ? '' : ' (the chart default)'}: Pod Security "restricted" rejects every Pod the injector gives such a daprd; set it to ${want}`,
      );
    }
  }
}
