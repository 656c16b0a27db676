/**
 * Real daprd sidecars for the test stacks: loopback ports, launch flags, readiness on the outbound healthz,
 * and a per-stack copy of dapr/config.yaml so each stack's sidecars resolve only each other.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ManagedProcess } from './process';
import { daprBin, repoRoot } from './paths';
import { freePort, httpOk } from './ports';

export interface SidecarPorts {
  http: number;
  grpc: number;
  internalGrpc: number;
  metrics: number;
}

export interface SidecarSpec {
  appId: string;
  /** Names its process and log file; default the app id (replicas share one). */
  name?: string;
  /** The app's port; omit for a sidecar with no app (a pure client). */
  appPort?: number;
  /** Folders of component/resiliency YAML. */
  resourcesPaths: string[];
  /** Rendered Configuration file. */
  configFile: string;
  /** Env for daprd itself: component `envRef`s, DAPR_API_TOKEN, APP_API_TOKEN. */
  env: NodeJS.ProcessEnv;
  logDir: string;
  ports?: SidecarPorts;
  extraArgs?: string[];
}

export async function sidecarPorts(): Promise<SidecarPorts> {
  return { http: await freePort(), grpc: await freePort(), internalGrpc: await freePort(), metrics: await freePort() };
}

export class Sidecar extends ManagedProcess {
  constructor(
    readonly appId: string,
    readonly ports: SidecarPorts,
    spec: ConstructorParameters<typeof ManagedProcess>[0],
  ) {
    super(spec);
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }
}

/** A real daprd on loopback ports; ready once its outbound APIs (components loaded) answer. */
export async function sidecar(spec: SidecarSpec): Promise<Sidecar> {
  const ports = spec.ports ?? (await sidecarPorts());
  const args = [
    '--app-id',
    spec.appId,
    '--dapr-listen-addresses',
    '127.0.0.1',
    '--dapr-http-port',
    String(ports.http),
    '--dapr-grpc-port',
    String(ports.grpc),
    '--dapr-internal-grpc-port',
    String(ports.internalGrpc),
    '--dapr-internal-grpc-listen-address',
    '127.0.0.1',
    '--metrics-port',
    String(ports.metrics),
    '--metrics-listen-address',
    '127.0.0.1',
    '--config',
    spec.configFile,
    '--app-protocol',
    'http',
    '--log-level',
    'warn',
    ...spec.resourcesPaths.flatMap((p) => ['--resources-path', p]),
    ...(spec.appPort !== undefined ? ['--app-port', String(spec.appPort), '--app-channel-address', '127.0.0.1'] : []),
    ...(spec.extraArgs ?? []),
  ];
  const token = spec.env['DAPR_API_TOKEN'];
  return new Sidecar(spec.appId, ports, {
    name: `daprd:${spec.name ?? spec.appId}`,
    command: daprBin('daprd'),
    args,
    env: spec.env,
    cwd: repoRoot,
    logFile: path.join(spec.logDir, `daprd-${spec.name ?? spec.appId}.log`),
    ready: () =>
      httpOk(`http://127.0.0.1:${ports.http}/v1.0/healthz/outbound`, token ? { 'dapr-api-token': token } : {}),
  });
}

/** The parts of dapr/config.yaml (a Dapr Configuration) that are edited here; the rest passes through. */
export interface DaprConfigurationDoc {
  spec: { nameResolution: { configuration: Record<string, unknown> }; [field: string]: unknown };
}

/**
 * Writes dapr/config.yaml with name resolution pointed at `nameResolutionDb`, so
 * each stack's sidecars find each other and no one else's.
 */
export function renderConfig(
  dir: string,
  nameResolutionDb: string,
  override: (doc: DaprConfigurationDoc) => void = () => {},
): string {
  mkdirSync(dir, { recursive: true });
  const doc = parse(readFileSync(path.join(repoRoot, 'dapr', 'config.yaml'), 'utf8')) as DaprConfigurationDoc;
  doc.spec.nameResolution.configuration.connectionString = nameResolutionDb;
  override(doc);
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}
