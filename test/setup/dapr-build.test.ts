/**
 * `third_party/build dapr`'s choice per binary (docs/development.md "Dapr runtime"): an env var path, else
 * an installed binary of the pinned version (`dapr init`'s ~/.dapr/bin, the CLI on
 * PATH), else a build from Go modules. Runs the real script against fake binaries
 * (shell scripts printing a version the way each Dapr binary does) in a temp HOME,
 * with a fake `go` that records its calls, and an output dir outside the repo.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The one entry point of the third-party builds; `dapr` selects third_party/dapr/build.sh. */
const entry = path.join(__dirname, '../../third_party/build');
const DAPR = '1.18.3';
const CLI = '1.12.0';
type Name = 'daprd' | 'sentry' | 'placement' | 'dapr';
const NAMES: Name[] = ['daprd', 'sentry', 'placement', 'dapr'];

/** A stand-in reporting `version` the way the real binary does. */
function fakeBinary(file: string, name: Name, version: string): string {
  const body = {
    daprd: `echo '${version}'`,
    dapr: `printf 'CLI version: ${version} \\nRuntime version: n/a\\n'`,
    // sentry and placement have no --version; they log it first thing at start.
    sentry: `echo 'time="t" level=info msg="Starting Dapr Sentry certificate authority -- version ${version} -- commit abc" scope=dapr.sentry' >&2; exit 1`,
    placement: `echo 'time="t" level=info msg="Starting Dapr Placement Service -- version ${version} -- commit abc" scope=dapr.placement' >&2; exit 1`,
  }[name];
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

let tmp: string;
let home: string;
let out: string;
let goBin: string; // holds the fake go
let noGoBin: string; // PATH entries without go
let goLog: string;

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dapr-build-'));
  home = path.join(tmp, 'home');
  out = path.join(tmp, 'out');
  goBin = path.join(tmp, 'go-bin');
  noGoBin = path.join(tmp, 'bin');
  goLog = path.join(tmp, 'go.log');
  mkdirSync(home);
  mkdirSync(noGoBin);
  // What `go build -o <out>/<name>` produces here: a binary reporting the pinned version.
  const built = path.join(tmp, 'built');
  for (const n of NAMES) fakeBinary(path.join(built, n), n, n === 'dapr' ? CLI : DAPR);
  mkdirSync(goBin);
  writeFileSync(
    path.join(goBin, 'go'),
    `#!/bin/bash
echo "$*" >> '${goLog}'
while [ $# -gt 0 ]; do [ "$1" = -o ] && o=$2; shift; done
cp '${built}'/"$(basename "$o")" "$o"
`,
  );
  chmodSync(path.join(goBin, 'go'), 0o755);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function run(opts: { go?: boolean; env?: Record<string, string>; args?: string[] } = {}) {
  const bins = opts.go === false ? [noGoBin] : [noGoBin, goBin];
  const r = spawnSync('bash', [entry, 'dapr', ...(opts.args ?? [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: tmp,
    env: { PATH: [...bins, '/usr/bin', '/bin'].join(':'), HOME: home, DAPR_BIN_DIR: out, ...opts.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const goCalls = (): string[] => (existsSync(goLog) ? readFileSync(goLog, 'utf8').trim().split('\n') : []);
const installed = (n: Name, version = n === 'dapr' ? '1.16.0' : DAPR) =>
  fakeBinary(path.join(home, '.dapr', 'bin', n), n, version);
const isLink = (n: Name) => lstatSync(path.join(out, n)).isSymbolicLink();
const plan = (r: { stdout: string }) =>
  Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.split(' ')[0], l.split(' ').slice(1).join(' ')]),
  ) as Record<string, string>;

test('the go binary is really absent from the PATH the no-Go runs get', () => {
  // stdin is /dev/null: bash sources ~/.bashrc (which may add go) when stdin is a socket, as node's pipes are.
  const r = spawnSync('bash', ['-c', 'command -v go'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: `${noGoBin}:/usr/bin:/bin`, HOME: home },
  });
  expect(r.status).not.toBe(0);
});

test('installed binaries of the pinned version are linked, and no Go is needed', () => {
  for (const n of ['daprd', 'sentry', 'placement'] as const) installed(n);
  const cli = fakeBinary(path.join(noGoBin, 'dapr'), 'dapr', '1.16.0'); // the install script puts the CLI on PATH
  const r = run({ go: false });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`dapr: daprd ${DAPR} from ~/.dapr/bin/daprd (installed)`);
  expect(r.stdout).toContain(`dapr: dapr 1.16.0 from ${cli} (installed)`);
  for (const n of ['daprd', 'sentry', 'placement'] as const) {
    expect(readlinkSync(path.join(out, n))).toBe(path.join(home, '.dapr', 'bin', n));
    expect(readFileSync(path.join(out, `.${n}.source`), 'utf8')).toContain('installed');
  }
  expect(readlinkSync(path.join(out, 'dapr'))).toBe(cli);
  expect(goCalls()).toEqual([]);
  // The link is what testkit runs: it reports the version through it.
  expect(spawnSync(path.join(out, 'daprd'), ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(DAPR);
});

test("an installed daprd of another version (or upstream's stablecomponents flavour) is not used: it is built", () => {
  installed('daprd', '1.17.0');
  let r = run();
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/~\/\.dapr\/bin\/daprd reports version '1\.17\.0', want daprd 1\.18\.3: not used/);
  expect(r.stdout).toContain(`dapr: building daprd ${DAPR}`);
  expect(goCalls().some((c) => c.includes('./cmd/daprd'))).toBe(true);
  expect(isLink('daprd')).toBe(false);

  installed('daprd', `${DAPR}-stablecomponents`); // lacks the sqlite name resolver
  r = run({ args: ['--plan'] });
  expect(plan(r).daprd).toBe('build');
});

test('the CLI may be any 1.x from the pinned 1.12.0 on', () => {
  const accepted = (v: string) => {
    fakeBinary(path.join(noGoBin, 'dapr'), 'dapr', v);
    return plan(run({ args: ['--plan'] })).dapr !== 'build';
  };
  expect(accepted('1.12.0')).toBe(true);
  expect(accepted('1.18.1')).toBe(true);
  expect(accepted('1.11.4')).toBe(false);
  expect(accepted('2.0.0')).toBe(false);
  expect(accepted('edge')).toBe(false);
});

test('an env var path wins over ~/.dapr/bin, and must report the pinned version or setup fails', () => {
  installed('daprd');
  const custom = fakeBinary(path.join(tmp, 'custom', 'daprd'), 'daprd', DAPR);
  expect(plan(run({ args: ['--plan'], env: { DAPRD_PATH: custom } })).daprd).toBe(`installed ${custom} ${DAPR}`);

  const wrong = fakeBinary(path.join(tmp, 'wrong', 'daprd'), 'daprd', '1.17.0');
  let r = run({ env: { DAPRD_PATH: wrong } });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain(`DAPRD_PATH=${wrong} reports version '1.17.0'; want daprd ${DAPR}`);
  expect(goCalls()).toEqual([]); // it does not fall back to a build
  expect(existsSync(path.join(out, 'daprd'))).toBe(false);

  r = run({ env: { DAPR_SENTRY_PATH: path.join(tmp, 'missing') } });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('DAPR_SENTRY_PATH=');
  expect(r.stderr).toContain('is not an executable file');
});

test('DAPR_BUILD=always builds even when installed, without writing through the earlier link', () => {
  for (const n of NAMES) installed(n);
  expect(run().status).toBe(0);
  expect(isLink('daprd')).toBe(true);
  const before = readFileSync(path.join(home, '.dapr', 'bin', 'daprd'), 'utf8');

  const r = run({ env: { DAPR_BUILD: 'always' } });
  expect(r.status).toBe(0);
  expect(goCalls()).toHaveLength(4);
  for (const n of NAMES) expect(isLink(n)).toBe(false);
  expect(readFileSync(path.join(home, '.dapr', 'bin', 'daprd'), 'utf8')).toBe(before);
  expect(readFileSync(path.join(out, '.daprd.source'), 'utf8')).toContain('built from Go modules');

  expect(run({ env: { DAPR_BUILD: 'always', DAPRD_PATH: path.join(home, '.dapr', 'bin', 'daprd') } }).stderr).toContain(
    'DAPRD_PATH is set but DAPR_BUILD=always',
  );
  expect(run({ env: { DAPR_BUILD: 'sometimes' } }).status).not.toBe(0);
});

test('a current build is kept without Go; a stale one needs it', () => {
  expect(run().status).toBe(0);
  expect(goCalls()).toHaveLength(4);
  let r = run({ go: false });
  expect(r.status).toBe(0);
  for (const n of NAMES) expect(r.stdout).toContain(`dapr: ${n} `);
  expect(r.stdout.match(/built from Go modules \(up to date\)/g)).toHaveLength(4);
  expect(goCalls()).toHaveLength(4);

  writeFileSync(path.join(out, '.sentry.stamp'), 'stale\n');
  r = run();
  expect(r.stdout).toContain(`dapr: building sentry ${DAPR}`);
  expect(goCalls()).toHaveLength(5);
});

test('DAPR_BUILD=never fails when daprd is not installed, and never runs Go', () => {
  const r = run({ env: { DAPR_BUILD: 'never' } });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain(`daprd ${DAPR} is not installed and cannot be built (DAPR_BUILD=never)`);
  expect(r.stderr).toContain('DAPRD_PATH=');
  expect(goCalls()).toEqual([]);
});

test('without Go: daprd missing fails; sentry, placement and the CLI missing are skipped with a warning', () => {
  let r = run({ go: false });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('cannot be built (go is not on PATH)');

  installed('daprd');
  r = run({ go: false });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`dapr: daprd ${DAPR} from ~/.dapr/bin/daprd (installed)`);
  for (const n of ['sentry', 'placement', 'dapr'] as const) {
    expect(r.stderr).toContain(`dapr: WARNING: ${n} `);
    expect(existsSync(path.join(out, n))).toBe(false);
  }
  expect(r.stderr).toContain('DAPR_SENTRY_PATH=/path/to/sentry');
});
