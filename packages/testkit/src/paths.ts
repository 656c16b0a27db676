/**
 * Where things are on disk for the harness: the repository root (from src/ or dist/), the locally built
 * Dapr binaries, and the component sets the sidecars load.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest ancestor holding third_party/build (works from src/ and dist/). */
export const repoRoot: string = (() => {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'third_party', 'build'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('testkit: cannot find the repository root');
    dir = parent;
  }
  return dir;
})();

/** Where `third_party/build dapr` puts the binaries: <runtime-path>/.dapr/bin with runtime-path = repo root. */
export const daprBin = (name: 'daprd' | 'sentry' | 'placement' | 'dapr'): string =>
  path.join(repoRoot, '.dapr', 'bin', name);

export const componentsDir = (set: ComponentSet): string => path.join(repoRoot, 'components', set);

export type ComponentSet = 'local' | 'memory';
