/** Runs the manifest checker as `make check-manifests` does, on the repository or on a copy broken on purpose. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@context-qa/testkit';

const checker = path.join(repoRoot, 'tools/manifest-check/dist/main.js');
const kustomize = path.join(repoRoot, '.tools/bin/kustomize');

export function check(root: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [checker, root, ...args], {
    encoding: 'utf8',
    env: { ...process.env, KUSTOMIZE: kustomize },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

export const replaceIn = (root: string, file: string, from: string | RegExp, to: string) => {
  const p = path.join(root, file);
  const before = readFileSync(p, 'utf8');
  const after = before.replace(from, to);
  if (after === before) throw new Error(`edit did not apply to ${file}`);
  writeFileSync(p, after);
};

/** Copies of what the checker reads, to break on purpose; call cleanup() in afterAll. */
export function scratchCopies() {
  const temps: string[] = [];
  const copyWith = (edit: (root: string) => void): string => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'manifests-'));
    temps.push(root);
    // ai-core's sources: the Bedrock commands it sends decide the IAM actions its policy needs.
    for (const dir of ['k8s', 'components', 'dapr/config.yaml', 'dapr/resources', 'ai-core-service/src'])
      cpSync(path.join(repoRoot, dir), path.join(root, dir), { recursive: true });
    edit(root);
    return root;
  };
  return {
    copyWith,
    broken: (edit: (root: string) => void, ...args: string[]) => check(copyWith(edit), ...args),
    cleanup: () => temps.forEach((t) => rmSync(t, { recursive: true, force: true })),
  };
}
