/** Our own rules on top of the schemas: what every deployment of context-qa must get right. */
import { checkAccessControl } from './access-control';
import { checkAdminListener, checkIngresses } from './exposure';
import { checkInjectorValues } from './injector';
import { describe, type Doc } from './load';
import { checkNetworkPolicy } from './network';
import { placeholdersIn } from './placeholders';
import { checkDaprTokens } from './tokens';

export interface RuleInput {
  /** Rendered kustomize output of each overlay (and the base). */
  rendered: Doc[][];
  /** Every component set: set name → its component documents. */
  componentSets: Map<string, Doc[]>;
  /** Local Dapr resources (Configuration, Resiliency). */
  local: Doc[];
  /** Component names the services' code uses (their config defaults). */
  usedComponents: string[];
  /** App ids the code uses (AI_CORE_APP_ID) and the services' own ids. */
  appIds: string[];
  /** Raw text of every file checked, for secret scanning. */
  texts: { source: string; text: string }[];
  /** Sources (`kustomize build <dir>`) of the overlays about to be applied: no placeholders left. */
  deployable: Set<string>;
  /** The Helm values Dapr is installed with (k8s/dapr/helm-values.yaml), if the file exists. */
  daprHelmValues?: unknown;
}

const REQUIRED_ANNOTATIONS = [
  'dapr.io/enabled',
  'dapr.io/app-id',
  'dapr.io/app-port',
  'dapr.io/config',
  'dapr.io/log-level',
  'dapr.io/api-token-secret',
  'dapr.io/sidecar-cpu-request',
  'dapr.io/sidecar-memory-request',
  'dapr.io/sidecar-cpu-limit',
  'dapr.io/sidecar-memory-limit',
];

/** Names that smell like secrets; their values must come from a secret reference. */
const SECRETISH = /pass(word)?|secret|token|api-?key|credential/i;
/** Values that are allowed in plain text: dynalite's dummy credentials. */
const PLAIN_OK = new Set(['local']);
const LEAKS: [RegExp, string][] = [
  [/AKIA[0-9A-Z]{16}/, 'an AWS access key id'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\bsk-[A-Za-z0-9]{20,}/, 'an OpenAI-style API key'],
];

export function checkRules(input: RuleInput): string[] {
  const problems: string[] = [];
  const fail = (d: Doc | string, msg: string) => problems.push(`${typeof d === 'string' ? d : describe(d)}: ${msg}`);

  for (const docs of input.rendered) {
    const deployable = input.deployable.has(docs[0]?.source ?? '');
    const deployments = docs.filter((d) => d.obj['kind'] === 'Deployment');
    const configs = new Set(docs.filter((d) => d.obj['kind'] === 'Configuration').map((d) => d.obj['metadata']!.name));
    if (deployments.length === 0) fail(docs[0]?.source ?? '?', 'renders no Deployment');
    for (const d of deployments) checkDeployment(d, configs, input.appIds, fail);
    for (const d of deployments) if (d.obj['metadata']?.name === 'gateway-service') checkAdminListener(d, fail);
    checkDaprTokens(deployments, fail);
    checkIngresses(docs, fail);
    checkNamespace(docs, fail);
    for (const d of docs) {
      if (d.obj['kind'] === 'Secret') fail(d, 'manifests must not carry Secrets; create them out of band');
      if (d.obj['kind'] === 'NetworkPolicy') checkNetworkPolicy(d, deployable, fail);
      if (deployable) checkNoPlaceholder(d, fail);
    }
    checkDapr(docs, input.appIds, fail);
    checkAccessControl(docs, fail);
  }
  checkDapr(input.local, input.appIds, fail);
  checkAccessControl(input.local, fail);
  checkInjectorValues(input.rendered, input.daprHelmValues, fail);

  for (const [set, docs] of input.componentSets) {
    const names = new Set(docs.filter((d) => d.obj['kind'] === 'Component').map((d) => d.obj['metadata']!.name));
    for (const used of input.usedComponents)
      if (!names.has(used)) fail(`components/${set}`, `has no component "${used}", which the code uses`);
    checkDapr(docs, input.appIds, fail);
  }

  for (const { source, text } of input.texts) {
    for (const [pattern, what] of LEAKS) if (pattern.test(text)) fail(source, `contains ${what}`);
  }
  return problems;
}

export type Fail = (d: Doc | string, msg: string) => void;

/** An overlay about to be applied has every placeholder replaced (templates may keep them). */
function checkNoPlaceholder(d: Doc, fail: Fail): void {
  const left = [...new Set(placeholdersIn(d.obj))];
  if (left.length) fail(d, `placeholder ${left.join(', ')} not replaced (docs/deploy-eks.md, step 6)`);
}

/** Everything lands in the one Namespace the overlay renders (an overlay without
 * `namespace:` would put its own objects in kubectl's current namespace). */
function checkNamespace(docs: Doc[], fail: Fail): void {
  const ns = docs.find((d) => d.obj['kind'] === 'Namespace')?.obj['metadata']?.name;
  for (const d of docs) {
    if (d.obj['kind'] !== 'Namespace' && d.obj['metadata']?.namespace !== ns)
      fail(d, `is in namespace ${d.obj['metadata']?.namespace ?? '(none)'}, not ${ns}`);
  }
}

function checkDeployment(d: Doc, configs: Set<string | undefined>, appIds: string[], fail: Fail): void {
  const tpl = d.obj['spec']?.template ?? {};
  const ann = tpl.metadata?.annotations ?? {};
  for (const a of REQUIRED_ANNOTATIONS) if (!ann[a]) fail(d, `missing annotation ${a}`);
  if (ann['dapr.io/enabled'] !== 'true') fail(d, 'dapr.io/enabled must be "true"');
  if (ann['dapr.io/app-id'] && !appIds.includes(ann['dapr.io/app-id']))
    fail(d, `app-id ${ann['dapr.io/app-id']} is not one of ${appIds.join(', ')}`);
  if (ann['dapr.io/config'] && !configs.has(ann['dapr.io/config']))
    fail(d, `dapr.io/config names no Configuration "${ann['dapr.io/config']}"`);
  if (ann['dapr.io/app-id'] === 'ai-core-service' && !ann['dapr.io/app-token-secret'])
    fail(d, 'ai-core needs dapr.io/app-token-secret');
  const pod = tpl.spec ?? {};
  if (pod.securityContext?.runAsNonRoot !== true) fail(d, 'pod securityContext.runAsNonRoot must be true');
  if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
    fail(d, 'pod seccompProfile must be RuntimeDefault');
  if (!(pod.topologySpreadConstraints ?? []).some((t) => t.topologyKey === 'topology.kubernetes.io/zone'))
    fail(d, 'no topology spread across zones');
  for (const c of pod.containers ?? []) {
    const where = `container ${c.name}`;
    if (c.readinessProbe?.httpGet?.path !== '/readyz') fail(d, `${where}: readinessProbe must GET /readyz`);
    if (c.livenessProbe?.httpGet?.path !== '/healthz') fail(d, `${where}: livenessProbe must GET /healthz`);
    for (const k of ['requests', 'limits'])
      for (const r of ['cpu', 'memory']) if (!c.resources?.[k]?.[r]) fail(d, `${where}: no resources.${k}.${r}`);
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) fail(d, `${where}: readOnlyRootFilesystem must be true`);
    if (sc.allowPrivilegeEscalation !== false) fail(d, `${where}: allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) fail(d, `${where}: capabilities must drop ALL`);
    for (const e of c.env ?? [])
      if (SECRETISH.test(e.name) && e.value !== undefined)
        fail(d, `${where}: env ${e.name} has a plain value; use secretKeyRef`);
  }
}

/** Components: secrets by reference, scopes and access-control ids that exist. */
function checkDapr(docs: Doc[], appIds: string[], fail: Fail): void {
  for (const d of docs) {
    const { kind } = d.obj;
    if (kind === 'Component' || kind === 'Resiliency') {
      for (const s of d.obj['scopes'] ?? [])
        if (!appIds.includes(s)) fail(d, `scope ${s} is not a real app id (${appIds.join(', ')})`);
    }
    if (kind === 'Component') {
      for (const m of d.obj['spec']?.metadata ?? []) {
        if (SECRETISH.test(m.name) && m.value !== undefined && !PLAIN_OK.has(String(m.value))) {
          fail(d, `metadata ${m.name} has a plain value; use secretKeyRef or envRef`);
        }
      }
    }
    if (kind === 'Configuration') {
      for (const p of d.obj['spec']?.accessControl?.policies ?? []) {
        if (!appIds.includes(p.appId)) fail(d, `access-control policy for unknown app id ${p.appId}`);
      }
    }
  }
}
