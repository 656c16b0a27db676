/**
 * Running the services' images instead of their dist/: the container engine (podman or docker), run arguments
 * that mirror each k8s Deployment's security settings, and removal of containers left behind.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './paths';
import { ManagedProcess, type ProcessSpec } from './process';
import { podContract, type PodContract, type ServiceName } from './pod-contract';

/**
 * Where Stack runs the two services: their dist/ on the host (default), or their images
 * (make images) as containers next to the host-run sidecars and backing services.
 * CONTEXT_QA_LAUNCH=container selects containers for suites that do not choose (test/containers).
 */
export type Launch = 'host' | 'container';
export const defaultLaunch = (): Launch => (process.env['CONTEXT_QA_LAUNCH'] === 'container' ? 'container' : 'host');

/** docker or podman (default); podman reads tools/images/containers.conf (runc, cgroupfs, ulimits these hosts need). */
export const containerEngine = (): string => process.env['CONTAINER_ENGINE'] ?? 'podman';
export const engineEnv = (): NodeJS.ProcessEnv =>
  containerEngine() === 'podman'
    ? { CONTAINERS_CONF: process.env['CONTAINERS_CONF'] ?? path.join(repoRoot, 'tools', 'images', 'containers.conf') }
    : {};

/** The image `make images` tags for a service. */
export const serviceImage = (service: ServiceName): string =>
  `${process.env['CONTEXT_QA_IMAGE_PREFIX'] ?? 'localhost/context-qa'}/${service}:local`;

/** Runs the engine's CLI synchronously (inspect, diff, rm, one-shot runs). */
export function engine(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(containerEngine(), args, {
    env: { ...process.env, ...engineEnv() },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** How a service container runs; by default what its Kubernetes manifest sets. Tests may loosen one setting. */
export interface ContainerRun extends PodContract {
  image: string;
  /** Container name; unique per test process. */
  name: string;
}

/** Label on every service container: the pid of the test process that started it. */
export const CONTAINER_PID_LABEL = 'org.context-qa.test-pid';

/** `<engine> run` arguments: host network (the sidecars are on loopback), the manifest's security settings and env (but ports), then `env`. */
export function containerArgs(run: ContainerRun, env: NodeJS.ProcessEnv): string[] {
  const podman = containerEngine() === 'podman';
  // Listeners are the stack's: on the host network a manifest's fixed port (ADMIN_PORT=8082) would
  // collide, and the suites expect every route on PORT (the admin split has its own tests in gateway-service).
  const manifestEnv = Object.fromEntries(Object.entries(run.env).filter(([k]) => !k.endsWith('_PORT')));
  const allEnv = { ...manifestEnv, ...env };
  return [
    'run',
    '--rm',
    `--name=${run.name}`,
    `--label=${CONTAINER_PID_LABEL}=${process.pid}`,
    '--network=host', // the engine's default seccomp profile stands for the pods' RuntimeDefault
    `--user=${run.user}`,
    // Kubernetes runs an image's uid as it is; podman would add it to the image's /etc/passwd.
    ...(podman ? ['--passwd=false'] : []),
    ...(run.readOnlyRootFilesystem ? ['--read-only', ...(podman ? ['--read-only-tmpfs=false'] : [])] : []),
    // The emptyDir volumes of the pod (/tmp), as tmpfs of the same size limit.
    ...run.emptyDirs.map((d) => `--tmpfs=${d.mountPath}:rw,mode=1777${d.sizeBytes ? `,size=${d.sizeBytes}` : ''}`),
    ...run.dropCapabilities.map((c) => `--cap-drop=${c}`),
    ...(run.noNewPrivileges ? ['--security-opt=no-new-privileges'] : []),
    `--stop-timeout=${run.terminationGraceSeconds}`,
    ...Object.entries(allEnv).flatMap(([k, v]) => (v === undefined ? [] : ['-e', `${k}=${v}`])),
    run.image,
  ];
}

/** The default run of a service: its manifest's contract, its image, a per-process name. */
export function containerRun(service: ServiceName, name: string, overrides: Partial<ContainerRun> = {}): ContainerRun {
  return { ...podContract(service), image: serviceImage(service), name: `cqa-${process.pid}-${name}`, ...overrides };
}

/**
 * The engine's `run` in the foreground, so ManagedProcess's log, readiness and SIGTERM
 * (the engine passes it on to node, PID 1) work as for a host process. Stopping also
 * removes the container: a SIGKILL after the grace period ends only the CLI.
 */
export class ContainerProcess extends ManagedProcess {
  constructor(
    spec: ProcessSpec,
    readonly containerName: string,
    private readonly graceMs: number,
  ) {
    super(spec);
  }

  override async start(): Promise<this> {
    removeOrphans();
    removeContainer(this.containerName); // a leftover of an earlier run under this name
    return super.start();
  }

  override async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = this.graceMs): Promise<void> {
    await super.stop(signal, graceMs);
    removeContainer(this.containerName);
  }
}

/** Removes a container at once (podman would first wait 10 s for SIGTERM). */
export const removeContainer = (name: string): void =>
  void engine(['rm', '-f', ...(containerEngine() === 'podman' ? ['-t', '0'] : []), name]);

let orphansChecked = false;
/** Removes service containers left by test processes that died without stopping them (once per process). */
function removeOrphans(): void {
  if (orphansChecked) return;
  orphansChecked = true;
  const names = engine(['ps', '-a', `--filter=label=${CONTAINER_PID_LABEL}`, '--format={{.Names}}']).stdout.split('\n');
  for (const name of names) {
    const pid = /^cqa-(\d+)-/.exec(name.trim())?.[1]; // containerRun's names carry the test process's pid
    if (pid && !alive(Number(pid))) removeContainer(name.trim());
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
