/**
 * k8s/overlays/node is what `make check-node` runs: the EKS overlay with only what cannot exist
 * off AWS replaced. Every difference between the two renderings must be on this allow-list, so
 * the Configuration, Resiliency, NetworkPolicies, RBAC, Deployments, probes, securityContext and
 * shutdown settings the node proves are the production ones.
 */
import type { Doc, Manifest } from './load';

const EKS = 'kustomize build k8s/overlays/eks';
const NODE = 'kustomize build k8s/overlays/node';

/** Where the node overlay may differ (object, then a path below it): each entry says why. */
export const NODE_OVERLAY_ALLOWED: Record<string, string> = {
  // DynamoDB is dynalite, with static credentials instead of IRSA.
  'Component/context-store /spec/metadata[endpoint]': 'DynamoDB → dynalite',
  'Component/context-store /spec/metadata[accessKey]': 'static credentials instead of IRSA',
  'Component/context-store /spec/metadata[secretKey]': 'static credentials instead of IRSA',
  // The model APIs are the simulator behind TLS, with a test CA ai-core trusts.
  'ConfigMap/ai-core-config /data/AZURE_OPENAI_ENDPOINT': 'Azure OpenAI → the simulator',
  'ConfigMap/ai-core-config /data/BEDROCK_ENDPOINT': 'Bedrock → the simulator',
  'Deployment/ai-core-service /spec/template/spec/containers[ai-core-service]/env[NODE_EXTRA_CA_CERTS]': 'the test CA',
  'Deployment/ai-core-service /spec/template/spec/containers[ai-core-service]/volumeMounts[node-test-ca]':
    'the test CA',
  'Deployment/ai-core-service /spec/template/spec/volumes[node-test-ca]': 'the test CA',
  'Deployment/ai-core-service /spec/template/spec/containers[ai-core-service]/env[AWS_ACCESS_KEY_ID]':
    'static credentials instead of IRSA',
  'Deployment/ai-core-service /spec/template/spec/containers[ai-core-service]/env[AWS_SECRET_ACCESS_KEY]':
    'static credentials instead of IRSA',
};

const named = (v: unknown): v is { name: string } =>
  typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string';

/** The paths where `a` and `b` differ; array items with a `name` are matched by it (`[name]`). */
function differences(a: unknown, b: unknown, at = ''): string[] {
  const items = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? (v as unknown[]) : undefined);
  const [la, lb] = [items(a), items(b)];
  if (la && lb && [...la, ...lb].every(named)) {
    const byName = (xs: unknown[]) => new Map(xs.filter(named).map((x) => [x.name, x]));
    const [ma, mb] = [byName(la), byName(lb)];
    return [...new Set([...ma.keys(), ...mb.keys()])].flatMap((n) => differences(ma.get(n), mb.get(n), `${at}[${n}]`));
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null;
  if (isObject(a) && isObject(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}/${k}`),
    );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at || '/'];
}

const key = (m: Manifest) => `${m.kind}/${m.metadata?.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata?.name}`;
const objectName = (m: Manifest) => `${m.kind}/${m.metadata?.name}`;

/** Problems: each difference between the two overlays that the allow-list does not name. */
export function checkNodeOverlay(rendered: Doc[][]): string[] {
  const of = (source: string) => rendered.find((docs) => docs[0]?.source === source)?.map((d) => d.obj);
  const [eks, node] = [of(EKS), of(NODE)];
  if (!eks || !node) return [];
  const eksByKey = new Map(eks.map((m) => [key(m), m]));
  const nodeByKey = new Map(node.map((m) => [key(m), m]));
  const problems: string[] = [];
  for (const k of new Set([...eksByKey.keys(), ...nodeByKey.keys()])) {
    const [e, n] = [eksByKey.get(k), nodeByKey.get(k)];
    if (!e || !n) {
      problems.push(`k8s/overlays/node ${e ? 'drops' : 'adds'} ${k}: it may only replace what cannot exist off AWS`);
      continue;
    }
    for (const d of differences(e, n)) {
      const where = `${objectName(e)} ${d}`;
      if (!Object.keys(NODE_OVERLAY_ALLOWED).some((a) => where === a || where.startsWith(`${a}/`)))
        problems.push(
          `k8s/overlays/node differs from k8s/overlays/eks at ${where}: not on the allow-list (node-overlay.ts)`,
        );
    }
  }
  return problems;
}
