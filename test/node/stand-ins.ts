/**
 * The test's own workloads: the runtime stand-in image running a node script as a Pod that
 * passes Pod Security `restricted` (non-root, read-only, drop-ALL, RuntimeDefault seccomp).
 */
import { RUNTIME_IMAGE } from './node';

/** A namespace that enforces `restricted`, as the app's does in k8s/base. */
export const restrictedNamespace = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
});

/** A Pod spec running `script`; `serves` adds port 8080 (`http`), a readiness probe on /healthz and POD_NAME. */
export function scriptPod(name: string, script: string, serves: boolean) {
  return {
    terminationGracePeriodSeconds: 5,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name,
        image: RUNTIME_IMAGE,
        imagePullPolicy: 'Never',
        args: ['-e', script],
        ...(serves
          ? {
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
            }
          : {}),
        resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
      },
    ],
  };
}

/** One replica of a serving `script`, labelled app=<name>, with Pod `annotations`. */
export const scriptDeployment = (namespace: string, name: string, script: string, annotations = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name }, annotations }, spec: scriptPod(name, script, true) },
  },
});
