/**
 * `node tools/manifest-check/dist/main.js [root] [--deployable=<overlay>]...`: exit 1 with a
 * list of problems, else 0. Overlays named --deployable must have no placeholder left.
 */
import path from 'node:path';
import { checkRepository } from './index';

const args = process.argv.slice(2);
const deployable = args.filter((a) => a.startsWith('--deployable=')).map((a) => a.slice('--deployable='.length));
const root = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(__dirname, '../../..'));
const kustomize = process.env['KUSTOMIZE'] ?? path.join(root, '.tools/bin/kustomize');
checkRepository({ root, kustomize, deployable }).then(
  ({ checked, problems, notes }) => {
    for (const n of notes) console.log(`· ${n}`);
    for (const p of problems) console.error(`✗ ${p}`);
    console.log(`manifest-check: ${checked} objects checked, ${problems.length} problems`);
    process.exit(problems.length > 0 ? 1 : 0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
