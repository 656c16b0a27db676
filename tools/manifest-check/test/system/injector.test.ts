/**
 * The sidecar injector's Helm values against Pod Security "restricted" (found by make
 * check-cluster: with the chart's defaults every Dapr Pod of our namespace is rejected).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { replaceIn, scratchCopies } from './harness';

const VALUES = 'k8s/dapr/helm-values.yaml';

describe('Dapr sidecar injector values', () => {
  const { broken, cleanup } = scratchCopies();
  afterAll(cleanup);

  test('when the values keep the chart default for dropping capabilities, then the check fails and says which value', () => {
    const { code, out } = broken((r) => replaceIn(r, VALUES, /^\s*sidecarDropALLCapabilities: true\n/m, ''));
    expect(out).toMatch(
      /k8s\/dapr\/helm-values\.yaml: dapr_sidecar_injector\.sidecarDropALLCapabilities is false \(the chart default\): Pod Security "restricted" rejects/,
    );
    expect(code).toBe(1);
  });

  test('when the values file is missing, then the chart defaults are checked and fail', () => {
    const { code, out } = broken((r) => rmSync(path.join(r, VALUES)));
    expect(out).toMatch(/sidecarDropALLCapabilities is false \(the chart default\)/);
    expect(code).toBe(1);
  });

  test('when the values turn off a read-only root filesystem for daprd, then the check fails', () => {
    const { code, out } = broken((r) =>
      replaceIn(
        r,
        VALUES,
        /^(\s*)sidecarDropALLCapabilities: true$/m,
        '$1sidecarDropALLCapabilities: true\n$1sidecarReadOnlyRootFilesystem: false',
      ),
    );
    expect(out).toMatch(/dapr_sidecar_injector\.sidecarReadOnlyRootFilesystem is false: /);
    expect(out).not.toMatch(/sidecarDropALLCapabilities is/);
    expect(code).toBe(1);
  });

  test('when the namespace does not enforce restricted, then the chart defaults are no problem', () => {
    const { out } = broken((r) => {
      rmSync(path.join(r, VALUES));
      replaceIn(
        r,
        'k8s/base/namespace.yaml',
        'pod-security.kubernetes.io/enforce: restricted',
        'pod-security.kubernetes.io/enforce: baseline',
      );
    });
    expect(out).not.toMatch(/sidecarDropALLCapabilities/);
  });
});
