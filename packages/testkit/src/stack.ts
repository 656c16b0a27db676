/**
 * The whole system on loopback for integration tests, the bench and `make dev`: backing services, simulator,
 * sentry when mTLS is on, and each app with its daprd sidecar, every one a process tests can stop.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dynaliteProcess, ensureContextTable, dynamoEndpoint, redisProcess, simulatorProcess } from './backing';
import {
  renderConfig,
  sidecar,
  sidecarPorts,
  type DaprConfigurationDoc,
  type Sidecar,
  type SidecarPorts,
} from './daprd';
import { componentsDir, repoRoot, type ComponentSet } from './paths';
import { SimulatorAdmin } from '@context-qa/model-sim';
import { DEFAULT_TENANT, tenantStoreKey } from '@context-qa/common/contract';
import { devSecrets } from './dev-keys';
import { startSentry } from './sentry';
import { freePort, httpOk } from './ports';
import { ManagedProcess, type ProcessSpec } from './process';
import { gatewayUrls } from './gateway-urls';

export const CONTEXT_TABLE = 'context-qa';

/** An app with its own sidecar. Either the stack starts it (`start`) or it already listens on `appPort`. */
export interface AppSpec {
  appId: string;
  /** Name of its process, sidecar and port in this stack; default `appId` (a second replica needs its own). */
  name?: string;
  appPort?: number;
  /** Starts the app; gets the stack so it can read sidecar ports, etc. */
  start?: (ctx: AppContext) => {
    command: string;
    args: string[];
    env?: NodeJS.ProcessEnv;
    readyPath?: string;
    launch?: (spec: ProcessSpec) => ManagedProcess;
  };
  /** Extra env for the sidecar (e.g. DAPR_API_TOKEN, APP_API_TOKEN). */
  sidecarEnv?: NodeJS.ProcessEnv;
  sidecarArgs?: string[];
  /** Fixed sidecar HTTP port (the dev stack); default a free port. */
  daprHttpPort?: number;
  /** Sidecar without an app (a pure client). */
  noApp?: boolean;
}

export interface AppContext {
  appPort: number;
  sidecar: Sidecar;
  stack: Stack;
}

export interface StackOptions {
  /** Which components/<set> folder the sidecars load. Default `local`. */
  components?: ComponentSet;
  apps: AppSpec[];
  /** Secret store contents (the local.file secret store's JSON); default components/dev-secrets.json. */
  secrets?: Record<string, unknown>;
  /** Fixed ports for the dev stack; tests leave them out and get free ports. */
  ports?: Partial<{ redis: number; dynalite: number }>;
  /** Where logs and generated files go; default a fresh temp dir, removed on stop. */
  dir?: string;
  /** Keep dynalite's data across its restarts (LevelDB under `dir`). */
  persistDynamo?: boolean;
  /** Start the model simulator (default true); its env (e.g. SIM_FAULTS) when an object. */
  simulator?: boolean | NodeJS.ProcessEnv;
  /** Fixed simulator port (dev). */
  simulatorPort?: number;
  /** Run Dapr sentry and start every sidecar with mTLS (SPIFFE identities for access control). */
  mtls?: boolean;
  /** NAMESPACE of the sidecars' SPIFFE identities under mTLS (default "default"). */
  namespace?: string;
  /** Edits the rendered Dapr Configuration. */
  config?: (doc: DaprConfigurationDoc) => void;
  /**
   * Export traces (services and sidecars) over OTLP/HTTP to this collector base
   * URL, e.g. http://127.0.0.1:4318 (Jaeger in `make dev TRACING=1`, an in-test receiver).
   */
  tracing?: { otlpEndpoint: string; env?: NodeJS.ProcessEnv };
}

/**
 * Real backing services, sidecars and apps on loopback, each a ManagedProcess
 * that tests can stop and restart. Used by every integration test and by `make dev`.
 */
export class Stack {
  readonly processes = new Map<string, ManagedProcess>();
  readonly sidecars = new Map<string, Sidecar>();
  readonly appPorts = new Map<string, number>();
  readonly dir: string;
  readonly logDir: string;
  private readonly ownsDir: boolean;
  redisPort = 0;
  simulatorPort = 0;
  dynamoPort = 0;
  secretsFile = '';
  daprEnv: NodeJS.ProcessEnv = {};

  constructor(readonly options: StackOptions) {
    this.ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'context-qa-'));
    this.logDir = path.join(this.dir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
  }

  /** The simulator's base URL (both APIs and /admin). */
  get simulatorUrl(): string {
    return `http://127.0.0.1:${this.simulatorPort}`;
  }

  /** The simulator's admin API: faults and request counters. */
  get simulator(): SimulatorAdmin {
    return new SimulatorAdmin(this.simulatorUrl);
  }

  /** Base URL of an app the stack runs, e.g. appUrl('gateway-service'). */
  appUrl(appId: string): string {
    const port = this.appPorts.get(appId);
    if (port === undefined) throw new Error(`stack has no app ${appId}`);
    return `http://127.0.0.1:${port}`;
  }

  get components(): ComponentSet {
    return this.options.components ?? 'local';
  }

  proc(name: string): ManagedProcess {
    const p = this.processes.get(name);
    if (!p) throw new Error(`stack has no process ${name}: ${[...this.processes.keys()].join(', ')}`);
    return p;
  }

  sidecar(appId: string): Sidecar {
    const s = this.sidecars.get(appId);
    if (!s) throw new Error(`stack has no sidecar for ${appId}`);
    return s;
  }

  /** OTEL_* env for the services (empty when tracing is off). */
  get tracingEnv(): NodeJS.ProcessEnv {
    const t = this.options.tracing;
    return t ? { OTEL_EXPORTER_OTLP_ENDPOINT: t.otlpEndpoint, ...t.env } : {};
  }

  async start(): Promise<this> {
    try {
      await this.startBacking();
      const configFile = renderConfig(this.dir, path.join(this.dir, 'name-resolution.db'), (doc) => {
        const t = this.options.tracing;
        // Every request sampled, to Dapr's OTLP/HTTP exporter (it wants host:port, no scheme).
        if (t)
          doc.spec['tracing'] = {
            samplingRate: '1',
            otel: { endpointAddress: new URL(t.otlpEndpoint).host, isSecure: false, protocol: 'http' },
          };
        this.options.config?.(doc);
      });
      const resourcesPaths = [componentsDir(this.components), path.join(repoRoot, 'dapr', 'resources')];
      for (const app of this.options.apps) await this.startApp(app, configFile, resourcesPaths);
      return this;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async startBacking(): Promise<void> {
    this.secretsFile = path.join(this.dir, 'secrets.json');
    writeFileSync(this.secretsFile, JSON.stringify(this.options.secrets ?? devSecrets(), null, 2), { mode: 0o600 });
    this.daprEnv = { CONTEXT_QA_SECRETS_FILE: this.secretsFile };
    if (this.options.mtls) {
      const sentry = await startSentry(this.dir, this.logDir, this.options.namespace);
      this.add('sentry', sentry.proc);
      this.mesh = sentry;
    }
    const sim = this.options.simulator ?? true;
    if (sim) {
      this.simulatorPort = this.options.simulatorPort ?? (await freePort());
      await this.add('model-sim', simulatorProcess(this.simulatorPort, this.logDir, sim === true ? {} : sim)).start();
    }
    if (this.components !== 'local') return;
    this.redisPort = this.options.ports?.redis ?? (await freePort());
    this.dynamoPort = this.options.ports?.dynalite ?? (await freePort());
    await this.add('redis', redisProcess(this.redisPort, this.logDir)).start();
    const dataDir = this.options.persistDynamo ? path.join(this.dir, 'dynalite-data') : undefined;
    await this.add('dynalite', dynaliteProcess(this.dynamoPort, this.logDir, dataDir)).start();
    // The Dapr DynamoDB component checks the table at init: create it first.
    await ensureContextTable(this.dynamoPort, CONTEXT_TABLE);
    Object.assign(this.daprEnv, {
      CONTEXT_QA_REDIS_HOST: `127.0.0.1:${this.redisPort}`,
      CONTEXT_QA_DYNAMODB_ENDPOINT: dynamoEndpoint(this.dynamoPort),
      CONTEXT_QA_DYNAMODB_TABLE: CONTEXT_TABLE,
    });
  }

  private mesh?: { sidecarArgs: string[]; sidecarEnv: NodeJS.ProcessEnv };

  private async startApp(app: AppSpec, configFile: string, resourcesPaths: string[]): Promise<void> {
    const appPort = app.noApp ? undefined : (app.appPort ?? (await freePort()));
    const name = app.name ?? app.appId;
    const car = await sidecar({
      appId: app.appId,
      name,
      ...(appPort !== undefined ? { appPort } : {}),
      resourcesPaths,
      configFile,
      env: { ...this.daprEnv, ...this.options.tracing?.env, ...this.mesh?.sidecarEnv, ...app.sidecarEnv },
      logDir: this.logDir,
      extraArgs: [...(this.mesh?.sidecarArgs ?? []), ...(app.sidecarArgs ?? [])],
      ports: { ...(await sidecarPorts()), ...(app.daprHttpPort ? { http: app.daprHttpPort } : {}) },
    });
    this.sidecars.set(name, car);
    this.add(`daprd:${name}`, car);
    await car.start();
    if (appPort === undefined) return;
    this.appPorts.set(name, appPort);
    if (app.appId === 'gateway-service') gatewayUrls.add(`http://127.0.0.1:${appPort}`);
    if (!app.start) return;
    const {
      command,
      args,
      env,
      readyPath = '/healthz',
      launch = (spec) => new ManagedProcess(spec),
    } = app.start({ appPort, sidecar: car, stack: this });
    await this.add(
      name,
      launch({
        name,
        command,
        args,
        env,
        cwd: repoRoot,
        logFile: path.join(this.logDir, `${name}.log`),
        ready: () => httpOk(`http://127.0.0.1:${appPort}${readyPath}`),
      }),
    ).start();
  }

  /**
   * Writes context straight into ai-core's source-of-truth store through its
   * sidecar's state API, as an ingestion job would (bypassing ai-core and the cache),
   * under the tenant's store keys (`<tenant>::<key>`).
   */
  async seedContextStore(entries: Record<string, string>, tenant: string = DEFAULT_TENANT): Promise<void> {
    const items = Object.entries(entries).map(([key, text]) => ({ key: tenantStoreKey(tenant, key), value: { text } }));
    for (let i = 0; i < items.length; i += 100) {
      const res = await fetch(`${this.sidecar('ai-core-service').httpUrl}/v1.0/state/context-store`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items.slice(i, i + 100)),
      });
      if (res.status !== 204) throw new Error(`seeding context-store failed: ${res.status} ${await res.text()}`);
    }
  }

  add<P extends ManagedProcess>(name: string, p: P): P {
    this.processes.set(name, p);
    return p;
  }

  /** Stops everything, newest first; removes the temp dir it created. */
  async stop(): Promise<void> {
    for (const p of [...this.processes.values()].reverse()) await p.stop();
    if (this.ownsDir && !process.env['KEEP_STACK_DIR']) rmSync(this.dir, { recursive: true, force: true });
  }
}

export type { SidecarPorts };
