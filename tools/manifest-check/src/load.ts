import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One Kubernetes-style object with where it came from. */
export interface Doc {
  source: string;
  obj: Record<string, any>;
}

export function yamlDocs(text: string, source: string): Doc[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, any> | null)
    .filter((o): o is Record<string, any> => o !== null && typeof o === 'object')
    .map((obj) => ({ source, obj }));
}

export const fileDocs = (file: string, root: string): Doc[] => yamlDocs(readFileSync(file, 'utf8'), path.relative(root, file));

/** `kustomize build <dir>` with the binary setup installs (nothing is downloaded here). */
export function kustomizeDocs(kustomize: string, dir: string, root: string): Doc[] {
  const out = execFileSync(kustomize, ['build', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return yamlDocs(out, `kustomize build ${path.relative(root, dir)}`);
}

export const describe = (d: Doc): string => `${d.obj['kind'] ?? '?'}/${d.obj['metadata']?.name ?? '?'} (${d.source})`;
