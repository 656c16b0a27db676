/**
 * The images themselves (make images): who they run as, what they lack, and how a
 * service container behaves at SIGTERM and towards its root filesystem.
 */
import http from 'node:http';
import {
  ContainerProcess,
  DEV_KEYS,
  engine,
  podContract,
  removeContainer,
  serviceApps,
  serviceImage,
  useStack,
  type Stack,
  type ServiceName,
} from '@context-qa/testkit';

const SERVICES: ServiceName[] = ['gateway-service', 'ai-core-service'];

/** `node -e <script>` in the image (its entrypoint is node), with no network. */
const nodeIn = (image: string, script: string) => engine(['run', '--rm', '--network=none', image, '-e', script]);

describe.each(SERVICES)('the %s image', (service) => {
  const image = serviceImage(service);

  test('when run as built, then node runs from the distroless path as uid 65532 (nonroot)', () => {
    const config = JSON.parse(engine(['image', 'inspect', '--format', '{{json .Config}}', image]).stdout) as {
      User: string;
      Entrypoint: string[];
    };
    expect(config.Entrypoint).toEqual(['/nodejs/bin/node']);
    const out = nodeIn(
      image,
      'console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), node: process.execPath, major: process.versions.node.split(".")[0] }))',
    );
    expect(out.status).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ uid: 65532, gid: 65532, node: '/nodejs/bin/node', major: '24' });
  });

  test('when a shell or a package manager is looked for, then there is none', () => {
    const shell = engine(['run', '--rm', '--network=none', '--entrypoint=/bin/sh', image, '-c', 'true']);
    expect(shell.status).not.toBe(0);
    expect(shell.stderr).toMatch(/no such file|not found/i);
    const tools = [
      '/bin/sh',
      '/bin/bash',
      '/bin/dash',
      '/usr/bin/apt',
      '/usr/bin/apt-get',
      '/usr/bin/dpkg',
      '/usr/bin/perl',
      '/usr/local/bin/npm',
      '/usr/local/bin/node',
    ];
    const out = nodeIn(
      image,
      `console.log(JSON.stringify(${JSON.stringify(tools)}.filter((p) => require("fs").existsSync(p))))`,
    );
    expect(out.status).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([]);
  });

  test('when it looks for CA certificates and time zones, then the CA bundle and tzdata are there', () => {
    const out = nodeIn(
      image,
      'const fs = require("fs"); console.log(JSON.stringify({ ca: fs.readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8").includes("BEGIN CERTIFICATE"), berlin: new Date(0).toLocaleString("en-GB", { timeZone: "Europe/Berlin" }), zoneinfo: fs.existsSync("/usr/share/zoneinfo/Europe/Berlin") }))',
    );
    expect(JSON.parse(out.stdout)).toEqual({ ca: true, berlin: '01/01/1970, 01:00:00', zoneinfo: true });
  });
});

/** The container a Stack runs for `service`. */
const containerOf = (stack: Stack, service: ServiceName): ContainerProcess => {
  const p = stack.proc(service);
  if (!(p instanceof ContainerProcess)) throw new Error(`${service} is not a container`);
  return p;
};

/** Polls `url` until it answers `status` (true), or `ms` pass (false). */
const answers = async (url: string, status: number, ms: number): Promise<boolean> => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if ((await fetch(url).catch(() => undefined))?.status === status) return true;
  }
  return false;
};

describe('service containers as the manifests run them', () => {
  const stack = useStack({ components: 'memory', apps: serviceApps({ launch: 'container' }) });

  const ask = (prompt: string) =>
    fetch(`${stack.appUrl('gateway-service')}/v1/prompt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt }),
    });

  test.each(SERVICES)(
    'when %s runs, then as the manifest user, without capabilities or new privileges, and only /tmp is writable',
    (service) => {
      const probe = `const fs = require("fs"); const status = fs.readFileSync("/proc/self/status", "utf8");
      const field = (f) => new RegExp("^" + f + ":\\\\s*(.*)$", "m").exec(status)[1];
      const write = (p) => { try { fs.writeFileSync(p, "x"); fs.unlinkSync(p); return "ok"; } catch (e) { return e.code; } };
      console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), capEff: field("CapEff"), noNewPrivs: field("NoNewPrivs"), root: write("/probe"), app: write("/app/probe"), tmp: write("/tmp/probe") }));`;
      const out = engine(['exec', containerOf(stack, service).containerName, '/nodejs/bin/node', '-e', probe]);
      expect(out.stderr).toBe('');
      const [uid, gid] = podContract(service).user.split(':').map(Number);
      expect(JSON.parse(out.stdout)).toEqual({
        uid,
        gid,
        capEff: '0000000000000000',
        noNewPrivs: '1',
        root: 'EROFS',
        app: 'EROFS',
        tmp: 'ok',
      });
    },
  );

  test('when the playground is asked for, then the image has its page, style and scripts', async () => {
    // node:http, not fetch: the page is not part of the API the OpenAPI check covers.
    const get = (p: string) =>
      new Promise<{ status: number; type: string }>((resolve, reject) =>
        http
          .get(`${stack.appUrl('gateway-service')}${p}`, (res) =>
            resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '' }),
          )
          .on('error', reject),
      );
    expect(await get('/playground')).toEqual({ status: 200, type: expect.stringMatching(/^text\/html/) as string });
    expect(await get('/playground/playground.css')).toEqual({
      status: 200,
      type: expect.stringMatching(/^text\/css/) as string,
    });
    for (const script of ['app.js', 'api.js'])
      expect(await get(`/playground/${script}`)).toEqual({
        status: 200,
        type: expect.stringMatching(/javascript/) as string,
      });
  });

  // ai-core first: the gateway (still up) carries the request that ai-core drains.
  test.each<ServiceName>(['ai-core-service', 'gateway-service'])(
    'when %s gets SIGTERM mid-request, then it reports not ready, finishes the request and exits 0 after the shutdown delay',
    async (service) => {
      const proc = containerOf(stack, service);
      const delayMs = Number(podContract(service).env['SHUTDOWN_DELAY_MS']);
      expect(delayMs).toBeGreaterThan(0);
      await stack.simulator.setFault('*', { latencyMs: 1500 });
      try {
        const inFlight = ask(`drain ${service}`);
        await new Promise((r) => setTimeout(r, 500)); // the request has reached the simulator
        const t0 = Date.now();
        const stopped = proc.stop('SIGTERM');
        expect(await answers(`${stack.appUrl(service)}/readyz`, 503, delayMs)).toBe(true);
        const res = await inFlight;
        expect(res.status).toBe(200);
        await stopped;
        expect(proc.lastExit).toEqual({ code: 0, signal: null }); // the engine passes on node's exit code
        expect(Date.now() - t0).toBeGreaterThanOrEqual(delayMs);
        expect(proc.logTail(200)).toMatch(
          /"signal":"SIGTERM".*"msg":"shutting down"|"msg":"shutting down".*"signal":"SIGTERM"/,
        );
      } finally {
        await stack.simulator.heal();
        await proc.start();
      }
    },
    // ai-core serves SHUTDOWN_DELAY_MS (42 s) after SIGTERM before it drains.
    120_000,
  );
});

/** What the engine itself changes in a container's root (mount points such as /etc/hosts): `podman diff` of an idle node in `image`. */
const engineOwnDiff = (image: string, user: string): string => {
  const name = `cqa-${process.pid}-idle`;
  expect(
    engine([
      'run',
      '-d',
      `--name=${name}`,
      '--network=host',
      `--user=${user}`,
      '--passwd=false',
      '--tmpfs=/tmp',
      image,
      '-e',
      'setInterval(() => {}, 1000)',
    ]).status,
  ).toBe(0);
  try {
    return engine(['diff', name]).stdout.trim();
  } finally {
    removeContainer(name);
  }
};

describe('service containers on a writable root filesystem', () => {
  const stack = useStack({
    components: 'memory',
    apps: serviceApps({ launch: 'container', container: { readOnlyRootFilesystem: false } }),
  });

  test('when they have served context writes, answers and errors, then neither has written to its root filesystem', async () => {
    const gateway = stack.appUrl('gateway-service');
    const put = await fetch(`${gateway}/v1/context/fs-check`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${DEV_KEYS.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Nothing is written to disk.' }),
    });
    expect(put.status).toBe(200);
    const auth = { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': 'application/json' };
    expect(
      (
        await fetch(`${gateway}/v1/prompt`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ prompt: 'disk?', contextKey: 'fs-check' }),
        })
      ).status,
    ).toBe(200);
    expect((await fetch(`${gateway}/v1/prompt`, { method: 'POST', headers: auth, body: '{"prompt":' })).status).toBe(
      400,
    );
    for (const service of SERVICES) {
      const diff = engine(['diff', containerOf(stack, service).containerName]);
      expect(diff.status).toBe(0);
      expect(diff.stdout.trim()).toBe(engineOwnDiff(serviceImage(service), podContract(service).user));
    }
  });
});
