/**
 * The Dapr control plane on the test node, installed as docs/deploy-eks.md step 1 installs it:
 * the chart of the pinned dapr module with its values, every component as Pods. Nothing can be
 * pulled, so each image the chart names (the sidecar's too) is built here from the project's
 * own Dapr build of that component and imported under the chart's name, as `kind load` does.
 * The StatefulSets' volume claims (scheduler, placement) bind to volumes in the run dir (no provisioner here).
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { applyDaprChart, NS, renderDaprChart, type Manifest } from '../cluster/dapr';
import { KUBE_BIN } from '../cluster/kube';
import { logTail, rolledOut, RUNTIME_IMAGE, type TestNode } from './node';

const REPO = path.join(__dirname, '../..');
/** Each component's binary: `third_party/build dapr` (daprd, sentry, placement) and `kube --node`. */
const BINARIES: Record<string, string> = {
  daprd: path.join(REPO, '.dapr/bin/daprd'),
  sentry: path.join(REPO, '.dapr/bin/sentry'),
  placement: path.join(REPO, '.dapr/bin/placement'),
  operator: path.join(KUBE_BIN, 'operator'),
  injector: path.join(KUBE_BIN, 'injector'),
  scheduler: path.join(KUBE_BIN, 'scheduler'),
};
/** The user upstream's distroless images run as. */
const NONROOT = 65532;

type Workload = Manifest & {
  spec: {
    replicas?: number;
    template: { spec: { containers: { image?: string; env?: { name: string; value?: string }[] }[] } };
    volumeClaimTemplates?: {
      metadata: { name: string };
      spec: { accessModes: string[]; storageClassName?: string; resources: { requests: { storage: string } } };
    }[];
  };
};

/** The images the rendered chart runs: its workloads' and the one the injector adds to app Pods. */
function chartImages(rendered: Manifest[]): string[] {
  const workloads = rendered.filter((m): m is Workload => ['Deployment', 'StatefulSet'].includes(m.kind));
  const images = workloads.flatMap((w) => w.spec.template.spec.containers.map((c) => c.image ?? ''));
  const sidecar = workloads
    .flatMap((w) => w.spec.template.spec.containers.flatMap((c) => c.env ?? []))
    .find((e) => e.name === 'SIDECAR_IMAGE')?.value;
  if (!sidecar) throw new Error('the chart sets no SIDECAR_IMAGE on the injector');
  return [...new Set([...images, sidecar])].filter(Boolean);
}

/** `trustBundle`: a CA bundle for the images' system trust store (the sidecars' TLS clients, e.g. to Redis). */
export async function installDapr(node: TestNode, trustBundle?: string): Promise<Manifest[]> {
  const { kube } = node;
  const rendered = await renderDaprChart(kube);
  for (const image of chartImages(rendered)) {
    const component = /\/([a-z]+):[^/]+$/.exec(image)?.[1] ?? '';
    const binary = BINARIES[component];
    if (!binary) throw new Error(`no Dapr build for the chart's image ${image}`);
    const files: Record<string, string> = trustBundle ? { '/etc/ssl/certs/ca-certificates.crt': trustBundle } : {};
    await node.binaryImage(image, binary, { user: NONROOT, base: RUNTIME_IMAGE, files });
  }

  // A volume for each claim of each StatefulSet replica (no provisioner here), bound to its claim by name.
  const volumes = rendered
    .filter((m): m is Workload => m.kind === 'StatefulSet')
    .flatMap((sts) =>
      (sts.spec.volumeClaimTemplates ?? []).flatMap((claim) =>
        Array.from({ length: sts.spec.replicas ?? 1 }, (_, i) => {
          const name = `${claim.metadata.name}-${sts.metadata.name}-${i}`;
          const hostPath = path.join(node.dir, 'volumes', name);
          mkdirSync(hostPath, { recursive: true });
          // The components run as a non-root user; the host dir is the volume.
          chmodSync(hostPath, 0o777);
          return {
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name },
            spec: {
              capacity: { storage: claim.spec.resources.requests.storage },
              accessModes: claim.spec.accessModes,
              storageClassName: claim.spec.storageClassName ?? '',
              claimRef: { namespace: NS, name },
              hostPath: { path: hostPath, type: 'Directory' },
            },
          };
        }),
      ),
    );
  if (volumes.length) await kube.kubectl(['apply', '-f', '-'], volumes.map((v) => JSON.stringify(v)).join('\n'));

  await applyDaprChart(kube, rendered);
  for (const w of rendered.filter((m) => ['Deployment', 'StatefulSet'].includes(m.kind))) {
    const ref = `${w.kind.toLowerCase()}/${w.metadata.name}`;
    await rolledOut(kube, NS, ref, '240s', async () => {
      const pods = await kube.kubectlResult(['-n', NS, 'describe', 'pods']);
      return `${pods.stdout}\n--- kubelet ---\n${logTail(node.dir, 'kubelet')}`;
    });
  }
  return rendered;
}
