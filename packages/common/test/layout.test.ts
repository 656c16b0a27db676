/**
 * packages/common by concern: one `exports` subpath per src/<concern>/index.ts (and
 * dist/<concern>/index.js) and no import cycle between its files. That the built tracing
 * loads before node:http and express is test/system/tracing-load.test.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const pkgDir = path.resolve(__dirname, '..');
const src = path.join(pkgDir, 'src');
const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; default: string }>;
  main?: string;
};
const concerns = readdirSync(src).filter((d) => statSync(path.join(src, d)).isDirectory());

test('when a concern has an index, then it has an exports entry, and nothing else does (no root barrel)', () => {
  for (const c of concerns) expect(existsSync(path.join(src, c, 'index.ts'))).toBe(true);
  expect(Object.keys(pkg.exports).sort()).toEqual(concerns.map((c) => `./${c}`).sort());
  for (const c of concerns)
    expect(pkg.exports[`./${c}`]).toEqual({ types: `./dist/${c}/index.d.ts`, default: `./dist/${c}/index.js` });
  expect(pkg.main).toBeUndefined();
  expect(existsSync(path.join(src, 'index.ts'))).toBe(false);
});

/** Every file's relative imports (type-only ones too), resolved to files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((e) =>
      statSync(path.join(dir, e)).isDirectory() ? walk(path.join(dir, e)) : [path.join(dir, e)],
    );
  for (const file of walk(src).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(file, 'utf8');
    const deps = [...text.matchAll(/^(?:import|export)[^;]*?from '(\.[^']*)'/gms)].map((m) => {
      const target = path.resolve(path.dirname(file), m[1]!);
      return existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts');
    });
    graph.set(file, deps);
  }
  return graph;
}

test('when its files import each other, then never in a circle', () => {
  const graph = importGraph();
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, trail: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open')
      return void cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(src, x)).join(' → '));
    state.set(f, 'open');
    for (const d of graph.get(f) ?? []) visit(d, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  expect(cycles).toEqual([]);
});
