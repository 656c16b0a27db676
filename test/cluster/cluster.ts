/**
 * The whole run of `make check-cluster`: Kubernetes, the Dapr control plane, our EKS
 * overlay applied, and every Deployment's Pods created. `stop()` ends every process
 * (process groups) and removes the temp dir; call it from afterAll, which jest runs
 * when a test fails too. KEEP_CLUSTER_DIR=1 keeps the dir (logs) for a post-mortem.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDapr, waitForInjection, type Dapr } from './dapr';
import { applyEksOverlay, APP_NS, type Applied } from './eks-overlay';
import { startKube, type Kube } from './kube';
import { GiveUp, startWatchdog, stopAll, waitFor } from './processes';
import { startWebhookProxy, type WebhookProxy } from './webhook-proxy';

export interface Cluster {
  kube: Kube;
  dapr: Dapr;
  applied: Applied;
  proxy: WebhookProxy;
  stop(): Promise<void>;
}

export interface Deployment {
  metadata: { name: string };
  spec: { replicas: number; selector: { matchLabels: Record<string, string> } };
}

/** Every Deployment of the overlay has its replicas as Pods (admitted, Pending: no kubelet). */
async function waitForPods(kube: Kube): Promise<void> {
  const deployments = (await kube.json<{ items: Deployment[] }>(['-n', APP_NS, 'get', 'deployments'])).items;
  for (const d of deployments) {
    const selector = Object.entries(d.spec.selector.matchLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    await waitFor(
      `${d.spec.replicas} Pods of Deployment ${d.metadata.name}`,
      async () => {
        const pods = (await kube.json<{ items: unknown[] }>(['-n', APP_NS, 'get', 'pods', '-l', selector])).items;
        if (pods.length >= d.spec.replicas) return true;
        // A rejected Pod shows only as the ReplicaSet's FailedCreate event: say why at once.
        const events = await kube.kubectl([
          '-n',
          APP_NS,
          'get',
          'events',
          '--field-selector=reason=FailedCreate',
          '-o',
          'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
        ]);
        if (events.trim()) throw new GiveUp(`Pods of ${d.metadata.name} rejected:\n${events}`);
        return undefined;
      },
      90_000,
    );
  }
}

export async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cqa-cluster-'));
  const keep = Boolean(process.env['KEEP_CLUSTER_DIR']);
  const stopWatchdog = startWatchdog(dir, keep);
  const proxy = await startWebhookProxy(path.join(dir, 'egress.sock'));
  const stop = async () => {
    // The last started first: Dapr stops before the apiserver it talks to.
    await stopAll();
    await proxy.close();
    stopWatchdog();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const kube = await startKube(dir, { egressUds: path.join(dir, 'egress.sock') });
    const dapr = await startDapr(kube, proxy);
    await waitForInjection(kube, dapr.injector);
    const applied = await applyEksOverlay(kube);
    await waitForPods(kube);
    return { kube, dapr, applied, proxy, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
