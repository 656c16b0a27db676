/** How the container tier turns a Deployment of k8s/base into an engine's `run` (no engine needed here). */
import { containerArgs, containerRun, podContract } from '../src';

/** A flag's values, whether given as `--flag value` or `--flag=value`. */
function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => {
    if (a === flag) return [args[i + 1]!];
    return a.startsWith(`${flag}=`) ? [a.slice(flag.length + 1)] : [];
  });
}

describe.each(['gateway-service', 'ai-core-service'] as const)('the %s Deployment as a container', (service) => {
  const contract = podContract(service);

  test('when read, then it has the security settings, user, /tmp and grace period of the manifest', () => {
    expect(contract).toMatchObject({
      user: '10001:10001',
      readOnlyRootFilesystem: true,
      noNewPrivileges: true,
      dropCapabilities: ['ALL'],
      emptyDirs: [{ mountPath: '/tmp', sizeBytes: 16 * 1024 * 1024 }],
      // ai-core serves until its sidecar has let go (k8s/base/ai-core.yaml), then drains.
      terminationGraceSeconds: service === 'ai-core-service' ? 75 : 45,
    });
    expect(contract.env['SHUTDOWN_DELAY_MS']).toBe(service === 'ai-core-service' ? '42000' : '5000');
    expect(contract.env).not.toHaveProperty('DAPR_API_TOKEN'); // a secretKeyRef: no local source
  });

  test("when turned into run arguments, then they carry the manifest's settings and env, the stack's env winning and its ports only", () => {
    const args = containerArgs(containerRun(service, 'x'), { PORT: '1234', LOG_LEVEL: 'debug' });
    expect(args).toEqual(
      expect.arrayContaining([
        '--network=host',
        '--user=10001:10001',
        '--read-only',
        '--cap-drop=ALL',
        '--security-opt=no-new-privileges',
      ]),
    );
    expect(valuesOf(args, '--tmpfs')).toEqual([`/tmp:rw,mode=1777,size=${16 * 1024 * 1024}`]);
    const env = valuesOf(args, '-e');
    const delay = contract.env['SHUTDOWN_DELAY_MS'];
    expect(env).toEqual(expect.arrayContaining([`SHUTDOWN_DELAY_MS=${delay}`, 'PORT=1234', 'LOG_LEVEL=debug']));
    expect(env).not.toContain('LOG_LEVEL=info');
    expect(env.filter((e) => /^[A-Z_]+_PORT=/.test(e))).toEqual([]); // ADMIN_PORT=8082 would collide on the host network
    expect(args.at(-1)).toBe(`localhost/context-qa/${service}:local`);
  });
});
