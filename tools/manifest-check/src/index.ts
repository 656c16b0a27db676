/**
 * Validates every manifest offline: kustomize renders each overlay; every object
 * is checked against the Kubernetes and Dapr schemas and against our rules.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { configSchema as aiCoreConfig } from '@context-qa/ai-core-service/dist/config';
import { configSchema as gatewayConfig } from '@context-qa/gateway-service/dist/config';
import { parse } from 'yaml';
import { checkBedrockIam } from './bedrock-iam';
import { DAPR_HELM_VALUES } from './injector';
import { fileDocs, kustomizeDocs, describe, type Doc } from './load';
import { checkNodeOverlay } from './node-overlay';
import { placeholdersIn } from './placeholders';
import { checkRules } from './rules';
import { daprValidators, kubernetesModels, validateSchema } from './schemas';

export interface CheckOptions {
  root: string;
  kustomize: string;
  /** Kustomization dirs to render (relative to root); default k8s/base and every k8s/overlays/*. */
  overlays?: string[];
  /** Overlays about to be applied (relative to root): any placeholder left is a problem. */
  deployable?: string[];
  /** Component-set folders (relative to root); each must define every component the code uses. */
  componentSets?: string[];
  /** Other Dapr resource files (relative to root). */
  localFiles?: string[];
}

export interface CheckResult {
  checked: number;
  problems: string[];
  /** Not problems: e.g. how many placeholders a template overlay still has. */
  notes: string[];
}

const yamlIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .map((f) => path.join(dir, f));

export async function checkRepository(opts: CheckOptions): Promise<CheckResult> {
  const { root } = opts;
  const deployable = (opts.deployable ?? []).map((d) => path.relative(root, path.resolve(root, d)));
  const overlays = [...new Set([...(opts.overlays ?? defaultOverlays(root)), ...deployable])];
  const setDirs =
    opts.componentSets ??
    readdirSync(path.join(root, 'components'))
      .map((s) => `components/${s}`)
      .filter((d) => statSync(path.join(root, d)).isDirectory());
  const localFiles = opts.localFiles ?? [
    'dapr/config.yaml',
    ...yamlIn(path.join(root, 'dapr/resources')).map((f) => path.relative(root, f)),
  ];

  const problems: string[] = [];
  const rendered: Doc[][] = [];
  for (const o of overlays) {
    try {
      rendered.push(kustomizeDocs(opts.kustomize, path.join(root, o), root));
    } catch (err) {
      problems.push(`kustomize build ${o}: ${String((err as { stderr?: string }).stderr ?? err).trim()}`);
    }
  }
  const componentSets = new Map(
    setDirs.map((d) => [path.basename(d), yamlIn(path.join(root, d)).flatMap((f) => fileDocs(f, root))]),
  );
  const local = localFiles.flatMap((f) => fileDocs(path.join(root, f), root));

  const dapr = daprValidators(path.join(root, 'k8s/schemas/dapr'));
  const all = [...rendered.flat(), ...[...componentSets.values()].flat(), ...local];
  const k8s = await kubernetesModels(all);
  for (const d of all) for (const p of validateSchema(d, dapr, k8s)) problems.push(`${describe(d)}: schema: ${p}`);

  const aiDefaults = aiCoreConfig.shape;
  const usedComponents = [
    aiDefaults.CACHE_STORE,
    aiDefaults.ANSWER_CACHE_STORE,
    aiDefaults.CONTEXT_STORE,
    aiDefaults.SECRET_STORE,
    gatewayConfig.shape.SECRET_STORE,
    gatewayConfig.shape.RATE_LIMIT_STORE,
  ].map((s) => s.parse(undefined));
  const appIds = ['gateway-service', gatewayConfig.shape.AI_CORE_APP_ID.parse(undefined)];
  const texts = [...new Set(all.map((d) => d.source).filter((s) => !s.startsWith('kustomize')))].map((s) => ({
    source: s,
    text: readFileSync(path.join(root, s), 'utf8'),
  }));
  const deployableSources = new Set(deployable.map((d) => `kustomize build ${d}`));
  const valuesFile = path.join(root, DAPR_HELM_VALUES);
  const daprHelmValues: unknown = existsSync(valuesFile) ? parse(readFileSync(valuesFile, 'utf8')) : undefined;
  problems.push(
    ...checkRules({
      rendered,
      componentSets,
      local,
      usedComponents: [...new Set(usedComponents)],
      appIds,
      texts,
      deployable: deployableSources,
      daprHelmValues,
    }),
  );
  problems.push(...checkBedrockIam(root));
  problems.push(...checkNodeOverlay(rendered));
  return { checked: all.length, problems, notes: templateNotes(rendered, deployableSources) };
}

const defaultOverlays = (root: string) => {
  const dir = path.join(root, 'k8s/overlays');
  const overlays = existsSync(dir)
    ? readdirSync(dir).filter((o) => existsSync(path.join(dir, o, 'kustomization.yaml')))
    : [];
  return ['k8s/base', ...overlays.map((o) => `k8s/overlays/${o}`)];
};

/** Overlays checked as templates: placeholders are expected there, but say how many. */
function templateNotes(rendered: Doc[][], deployable: Set<string>): string[] {
  return rendered
    .map((docs) => ({
      source: docs[0]?.source ?? '?',
      count: new Set(docs.flatMap((d) => placeholdersIn(d.obj))).size,
    }))
    .filter(({ source, count }) => count > 0 && !deployable.has(source))
    .map(
      ({ source, count }) =>
        `${source.replace('kustomize build ', '')}: a template, ${count} placeholders left (DEPLOYABLE=<overlay> fails on any)`,
    );
}
