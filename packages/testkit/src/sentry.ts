/**
 * Dapr sentry (the mTLS certificate authority) in standalone mode for stacks with mTLS, and the flags and env
 * each sidecar needs to join it, so access-control policies match SPIFFE identities locally too.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { daprBin } from './paths';
import { freePort, httpOk } from './ports';
import { ManagedProcess } from './process';

export const TRUST_DOMAIN = 'localhost';

/**
 * Dapr's certificate authority in standalone mode. With an empty credentials
 * dir it generates a CA; sidecars then get SPIFFE certificates from it, which
 * is what access-control policies match on.
 */
export async function startSentry(dir: string, logDir: string, namespace = 'default') {
  const creds = path.join(dir, 'sentry-credentials');
  mkdirSync(creds, { recursive: true });
  // Standalone sentry reads its settings from a Configuration file (in Kubernetes, "daprsystem").
  const config = path.join(dir, 'sentry-config.yaml');
  writeFileSync(
    config,
    'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: daprsystem\nspec:\n  mtls:\n    enabled: true\n    workloadCertTTL: 1h\n    allowedClockSkew: 15m\n',
  );
  const port = await freePort();
  const healthz = await freePort();
  const proc = new ManagedProcess({
    name: 'sentry',
    command: daprBin('sentry'),
    args: [
      '--mode',
      'standalone',
      '--config',
      config,
      '--issuer-credentials',
      creds,
      '--trust-domain',
      TRUST_DOMAIN,
      ...(await controlPlaneListeners(port, healthz)),
      '--log-level',
      'warn',
    ],
    logFile: path.join(logDir, 'sentry.log'),
    ready: () => httpOk(`http://127.0.0.1:${healthz}/healthz`),
  });
  await proc.start();
  return {
    proc,
    /** What every sidecar needs to join the mesh. */
    sidecarArgs: [
      '--enable-mtls',
      '--sentry-address',
      `127.0.0.1:${port}`,
      '--control-plane-trust-domain',
      TRUST_DOMAIN,
    ],
    sidecarEnv: { DAPR_TRUST_ANCHORS: readFileSync(path.join(creds, 'ca.crt'), 'utf8'), NAMESPACE: namespace },
  };
}

/** A Dapr control-plane service's (sentry, placement) listeners, all on loopback; metrics on a free port. */
export async function controlPlaneListeners(port: number, healthzPort: number): Promise<string[]> {
  const flags: [string, string][] = [
    ['--port', String(port)],
    ['--listen-address', '127.0.0.1'],
    ['--healthz-port', String(healthzPort)],
    ['--healthz-listen-address', '127.0.0.1'],
    ['--metrics-port', String(await freePort())],
    ['--metrics-listen-address', '127.0.0.1'],
  ];
  return flags.flat();
}
