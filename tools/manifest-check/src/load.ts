/**
 * Loading manifests for the checks: YAML files or `kustomize build` output as documents tagged with their
 * source, and the typed view of the fields the rules read.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One Kubernetes-style object with where it came from. */
export interface Doc {
  source: string;
  obj: Manifest;
}

/**
 * The fields of a parsed manifest that the rules read, all optional: the rules run on
 * every document whether or not its schema check passed. `spec` merges the fields of
 * the kinds checked (Deployment, Ingress, Service, NetworkPolicy, Dapr Component and
 * Configuration); a document of one kind simply has none of the others'.
 */
export interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  /** Dapr Component and Resiliency. */
  scopes?: string[];
  spec?: ManifestSpec;
  [field: string]: unknown;
}

export interface ManifestSpec {
  template?: { metadata?: { annotations?: Record<string, string> }; spec?: PodSpec };
  defaultBackend?: IngressBackend;
  rules?: { http?: { paths?: { backend?: IngressBackend }[] } }[];
  /** Service */
  ports?: { targetPort?: string | number }[];
  ingress?: NetworkPolicyRule[];
  egress?: NetworkPolicyRule[];
  /** Dapr Component */
  metadata?: { name: string; value?: string | number | boolean }[];
  /** Dapr Configuration */
  accessControl?: { defaultAction?: string; policies?: AccessPolicy[] };
}

/** One app id's entry in a Dapr Configuration's accessControl. */
export interface AccessPolicy {
  appId: string;
  defaultAction?: string;
  operations?: { name?: string; httpVerb?: string[]; action?: string }[];
}

export interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
  topologySpreadConstraints?: { topologyKey?: string }[];
  containers?: Container[];
}

export interface Container {
  name?: string;
  ports?: { name?: string; containerPort?: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name?: string } } }[];
  readinessProbe?: { httpGet?: { path?: string } };
  livenessProbe?: { httpGet?: { path?: string } };
  resources?: Record<string, Record<string, unknown> | undefined>;
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}

export interface IngressBackend {
  service?: { name?: string; port?: { name?: string; number?: number } };
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyRule {
  from?: { ipBlock?: IPBlock }[];
  to?: { ipBlock?: IPBlock }[];
  ports?: unknown[];
}

export function yamlDocs(text: string, source: string): Doc[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null && typeof o === 'object')
    .map((obj) => ({ source, obj }));
}

export const fileDocs = (file: string, root: string): Doc[] =>
  yamlDocs(readFileSync(file, 'utf8'), path.relative(root, file));

/** `kustomize build <dir>` with the binary setup installs (nothing is downloaded here). */
export function kustomizeDocs(kustomize: string, dir: string, root: string): Doc[] {
  const out = execFileSync(kustomize, ['build', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return yamlDocs(out, `kustomize build ${path.relative(root, dir)}`);
}

export const describe = (d: Doc): string => `${d.obj['kind'] ?? '?'}/${d.obj['metadata']?.name ?? '?'} (${d.source})`;
