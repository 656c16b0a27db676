/**
 * docs/deploy-eks.md steps 5 and 6, as an operator runs them: the namespace and the
 * secrets created out of band, every placeholder of the docs' table replaced in a copy
 * of the overlay (test values; the Kubernetes API Service IP read from the cluster, as
 * the docs say), then `kubectl apply -k`.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { placeholdersIn } from '../../tools/manifest-check/src/placeholders';
import type { Kube } from './kube';

const REPO = path.join(__dirname, '../..');
export const APP_NS = 'context-qa';
export const OVERLAY = 'k8s/overlays/eks';

/** Test values for the docs' placeholders (each subnet a /24 of one made-up VPC). */
export const TEST_VALUES: Record<string, string> = {
  ACCOUNT_ID: '123456789012',
  CERTIFICATE_ID: '0b6f1c2e-3d4a-4b5c-9d8e-7f6a5b4c3d2e',
  'YOUR-RESOURCE': 'context-qa-test',
  ELASTICACHE_PRIMARY_ENDPOINT: 'master.context-qa.abc123.use1.cache.amazonaws.com',
  ALB_SUBNET_CIDR_A: '10.20.0.0/24',
  ALB_SUBNET_CIDR_B: '10.20.1.0/24',
  CLUSTER_SUBNET_CIDR_A: '10.20.16.0/24',
  CLUSTER_SUBNET_CIDR_B: '10.20.17.0/24',
  ELASTICACHE_SUBNET_CIDR_A: '10.20.32.0/24',
  ELASTICACHE_SUBNET_CIDR_B: '10.20.33.0/24',
  AWS_ENDPOINT_SUBNET_CIDR_A: '10.20.48.0/24',
  AWS_ENDPOINT_SUBNET_CIDR_B: '10.20.49.0/24',
};

/** The secrets of step 5: name → key. */
export const SECRETS: Record<string, string> = {
  'gateway-dapr-api-token': 'token',
  'ai-core-dapr-api-token': 'token',
  'ai-core-dapr-app-token': 'token',
  'context-qa-redis': 'password',
  'azure-openai-api-key': 'azure-openai-api-key',
  'gateway-api-keys': 'gateway-api-keys',
};

/** The placeholders step 6's table lists (`ALB_SUBNET_CIDR_A/B` is two). */
export function documentedPlaceholders(): string[] {
  const doc = readFileSync(path.join(REPO, 'docs/deploy-eks.md'), 'utf8');
  const names = [...doc.matchAll(/^\| `([A-Z][A-Z0-9_-]+)` \|/gm)].map((m) => m[1]!);
  return names.flatMap((n) => (n.endsWith('_A/B') ? [n.replace('/B', ''), n.replace('_A/B', '_B')] : [n]));
}

export interface Applied {
  /** The overlay copy that was applied. */
  dir: string;
  /** What `kubectl kustomize` renders from it (what apply -k sent). */
  objects: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[];
  applyOutput: string;
}

/** A copy of k8s/ and components/ in `dir`/repo with the EKS overlay's placeholders replaced by `values`; returns the copy's root. */
export function overlayCopy(dir: string, values: Record<string, string>): string {
  const root = path.join(dir, 'repo');
  for (const d of ['k8s', 'components']) cpSync(path.join(REPO, d), path.join(root, d), { recursive: true });
  const overlay = path.join(root, OVERLAY);
  for (const file of readdirSync(overlay)) {
    const p = path.join(overlay, file);
    let text = readFileSync(p, 'utf8');
    // Longest first: ALB_SUBNET_CIDR_A must not be cut by a shorter name.
    for (const name of Object.keys(values).sort((a, b) => b.length - a.length))
      text = text.replaceAll(name, values[name]!);
    writeFileSync(p, text);
  }
  return root;
}

export async function applyEksOverlay(kube: Kube): Promise<Applied> {
  const values: Record<string, string> = {
    ...TEST_VALUES,
    KUBE_API_SERVICE_IP: (
      await kube.kubectl(['get', 'svc', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim(),
  };
  const missing = documentedPlaceholders().filter((p) => !(p in values));
  if (missing.length)
    throw new Error(`docs/deploy-eks.md lists placeholders this test has no value for: ${missing.join(', ')}`);
  const overlay = path.join(overlayCopy(kube.dir, values), OVERLAY);

  // Step 5: the namespace first, then the secrets (random values; never printed).
  await kube.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NS } }),
  );
  for (const [name, key] of Object.entries(SECRETS)) {
    await kube.kubectl([
      '-n',
      APP_NS,
      'create',
      'secret',
      'generic',
      name,
      `--from-literal=${key}=${randomBytes(32).toString('hex')}`,
    ]);
  }

  const rendered = await kube.kubectl(['kustomize', overlay]);
  const objects = parseAllDocuments(rendered).map((d) => d.toJS() as Applied['objects'][number]);
  const left = [...new Set(objects.flatMap((o) => placeholdersIn(o)))];
  if (left.length)
    throw new Error(`placeholders the docs' table does not list are left in ${OVERLAY}: ${left.join(', ')}`);
  const applyOutput = await kube.kubectl(['apply', '-k', overlay]);
  return { dir: overlay, objects, applyOutput };
}
