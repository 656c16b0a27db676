/**
 * One home for the third-party builds: every Go module of the repository is under
 * third_party/, each build there has its folder with a build.sh, and third_party/build
 * is the one entry point (names checked before anything runs, options to the name before
 * them). The builds themselves are tested in dapr-build.test.ts and
 * test/observability/promtool-build.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '../..');
const entry = path.join(root, 'third_party/build');
const NAMES = ['dapr', 'hadolint', 'jaeger', 'kube', 'kustomize', 'promtool', 'syft'];

const run = (args: string[]) => {
  const r = spawnSync('bash', [entry, ...args], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Every go.mod of the checkout, relative to the root (build output and installs skipped). */
function goModules(dir = root): string[] {
  const skip = new Set(['node_modules', 'dist', '.git', '.dapr', '.tools', '.run', 'coverage']);
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory() && !skip.has(e.name)) return goModules(path.join(dir, e.name));
    return e.isFile() && e.name === 'go.mod' ? [path.relative(root, path.join(dir, e.name))] : [];
  });
}

test('every Go module is a third-party build under third_party/', () => {
  const modules = goModules();
  expect(modules.length).toBeGreaterThan(0);
  expect(modules.filter((m) => !m.startsWith(`third_party${path.sep}`))).toEqual([]);
});

test('--list names each folder with a build.sh', () => {
  const r = run(['--list']);
  expect(r).toEqual({ status: 0, stdout: NAMES.join('\n') + '\n', stderr: '' });
  for (const n of NAMES) expect(existsSync(path.join(root, 'third_party', n, 'build.sh'))).toBe(true);
});

test('an unknown name fails before any build runs', () => {
  // dapr comes first and would print its plan if anything ran.
  const r = run(['dapr', '--plan', 'no-such-tool']);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^third_party\/build: no third-party build named 'no-such-tool'\n/);
});

test('without a name it prints its usage and fails', () => {
  const r = run([]);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(`names: ${NAMES.join(' ')}`);
});
