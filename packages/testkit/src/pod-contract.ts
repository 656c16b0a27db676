/**
 * Reads from k8s/base what each service's Deployment sets for its container (env, user, read-only root,
 * capabilities, tmp volumes, grace period), so containers in tests run as they would in the cluster.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './paths';

export type ServiceName = 'ai-core-service' | 'gateway-service';

/** What a service's Deployment in k8s/base sets for its container, as a container engine needs it. */
export interface PodContract {
  /** Literal env values and the ConfigMaps of envFrom (secretKeyRef values have no local source and are left out). */
  env: Record<string, string>;
  /** uid:gid of runAsUser/runAsGroup (the container's securityContext over the pod's). */
  user: string;
  readOnlyRootFilesystem: boolean;
  noNewPrivileges: boolean;
  dropCapabilities: string[];
  emptyDirs: { mountPath: string; sizeBytes?: number }[];
  terminationGraceSeconds: number;
}

type Doc = {
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  spec?: { template?: { spec?: PodSpec } };
};
type SecurityContext = {
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
};
type PodSpec = {
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
  volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
  containers: {
    name: string;
    env?: { name: string; value?: string }[];
    envFrom?: { configMapRef?: { name: string } }[];
    securityContext?: SecurityContext;
    volumeMounts?: { name: string; mountPath: string }[];
  }[];
};

const baseDir = () => path.join(repoRoot, 'k8s', 'base');
const docs = (): Doc[] =>
  readdirSync(baseDir())
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(path.join(baseDir(), f), 'utf8')).map((d) => d.toJS() as Doc))
    .filter((d) => d);

const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 };
const bytes = (quantity: string): number => {
  const m = /^(\d+)([KMG]i?)?$/.exec(quantity);
  if (!m) throw new Error(`pod-contract: unsupported quantity ${quantity}`);
  return Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1);
};

/** Reads the contract of `service` from its Deployment (a container of the same name) in k8s/base. */
export function podContract(service: ServiceName): PodContract {
  const all = docs();
  const pod = all.find((d) => d.kind === 'Deployment' && d.metadata?.name === service)?.spec?.template?.spec;
  const container = pod?.containers.find((c) => c.name === service);
  if (!pod || !container) throw new Error(`pod-contract: no Deployment with container ${service} in k8s/base`);
  const sc = { ...pod.securityContext, ...container.securityContext };
  const configMaps = (container.envFrom ?? []).map(
    (e) => all.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === e.configMapRef?.name)?.data ?? {},
  );
  const literal = (container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!] as const);
  return {
    env: Object.assign({}, ...configMaps, Object.fromEntries(literal)) as Record<string, string>,
    user: `${sc.runAsUser ?? 65532}:${sc.runAsGroup ?? sc.runAsUser ?? 65532}`,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    dropCapabilities: sc.capabilities?.drop ?? [],
    emptyDirs: (container.volumeMounts ?? []).flatMap((m) => {
      const dir = pod.volumes?.find((v) => v.name === m.name)?.emptyDir;
      if (!dir) return [];
      return [{ mountPath: m.mountPath, ...(dir.sizeLimit ? { sizeBytes: bytes(dir.sizeLimit) } : {}) }];
    }),
    terminationGraceSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
}
