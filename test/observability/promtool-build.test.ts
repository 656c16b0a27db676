/**
 * `third_party/build promtool` (run by `make setup`) needs Go only when it must build: with no
 * go on PATH it warns which test needs promtool and promql-names and exits 0, so setup
 * goes on (e.g. with an installed Dapr and no Go), and it keeps binaries that are current.
 * Runs the script with a PATH of only the commands it uses, into temporary $PROMTOOL_OUT dirs.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '../..');
const BUILD = path.join(root, 'third_party/build');
const BINARIES = ['promtool', 'promql-names'];
/** Every command third_party/build and promtool's build.sh run but go. */
const COMMANDS = ['bash', 'sh', 'awk', 'cat', 'cut', 'dirname', 'find', 'grep', 'mkdir', 'sha256sum'];

let tmp: string;
let bin: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'promtool-build-'));
  bin = path.join(tmp, 'bin');
  mkdirSync(bin);
  for (const c of COMMANDS) {
    const where = spawnSync('bash', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim();
    if (!where) throw new Error(`${c} is not on PATH`);
    symlinkSync(where, path.join(bin, c));
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** bash with PATH=bin (no go). HOME: bash run with a socket as stdin (as here) reads ~/.bashrc, which may add go to PATH. */
const bash = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(path.join(bin, 'bash'), args, { env: { PATH: bin, HOME: tmp, ...env }, encoding: 'utf8' });
/** promtool's build into out. */
const build = (out: string) => bash([BUILD, 'promtool'], { PROMTOOL_OUT: out });

/** An output dir holding the binaries make setup built (linked) and their stamps. */
function withBuiltBinaries(): string {
  const built = path.join(root, '.tools/bin');
  for (const b of BINARIES) {
    if (!existsSync(path.join(built, b)))
      throw new Error(
        `${path.join(built, b)} is missing: run third_party/build promtool (make setup does), which needs Go on PATH to build it`,
      );
  }
  const out = mkdtempSync(path.join(tmp, 'out-'));
  for (const b of BINARIES) {
    symlinkSync(path.join(built, b), path.join(out, b));
    writeFileSync(path.join(out, `.${b}.stamp`), readFileSync(path.join(built, `.${b}.stamp`)));
  }
  return out;
}

test('the PATH of these tests has no go', () => {
  expect(bash(['-c', 'command -v go'])).toMatchObject({ status: 1, stdout: '' });
});

test('without go and with nothing built, it warns that test/observability needs promtool and promql-names, and exits 0', () => {
  const out = mkdtempSync(path.join(tmp, 'out-'));
  const r = build(out);
  expect({ status: r.status, stderr: r.stderr }).toEqual<Record<string, unknown>>({
    status: 0,
    stderr: expect.stringMatching(
      /^promtool: WARNING: promtool promql-names \(prometheus v[\d.]+\) not built: go is not on PATH; only test\/observability \(part of make test\) needs them\n$/,
    ),
  });
  expect(readdirSync(out)).toEqual([]);
});

test('without go, current binaries are kept without a warning; a stale one is named in the warning', () => {
  const out = withBuiltBinaries();
  const current = build(out);
  expect({ status: current.status, stdout: current.stdout, stderr: current.stderr }).toEqual({
    status: 0,
    stdout: 'promtool: promtool is up to date\npromtool: promql-names is up to date\n',
    stderr: '',
  });
  // promql-names built from other sources than third_party/promtool's
  writeFileSync(path.join(out, '.promql-names.stamp'), 'other\n');
  const stale = build(out);
  expect({ status: stale.status, stdout: stale.stdout }).toEqual({
    status: 0,
    stdout: 'promtool: promtool is up to date\n',
  });
  expect(stale.stderr).toMatch(/^promtool: WARNING: promql-names \(prometheus v[\d.]+\) not built: go is not on PATH/);
});
