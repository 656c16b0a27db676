/** `node tools/manifest-check/dist/main.js [root]`: exit 1 with a list of problems, else 0. */
import path from 'node:path';
import { checkRepository } from './index';

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '../../..'));
const kustomize = process.env['KUSTOMIZE'] ?? path.join(root, '.tools/bin/kustomize');
checkRepository({ root, kustomize }).then(({ checked, problems }) => {
  for (const p of problems) console.error(`✗ ${p}`);
  console.log(`manifest-check: ${checked} objects checked, ${problems.length} problems`);
  process.exit(problems.length > 0 ? 1 : 0);
});
