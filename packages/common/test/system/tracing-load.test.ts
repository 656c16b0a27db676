/**
 * The built `@context-qa/common/tracing` loads neither node:http nor express: a service's
 * instrument.ts starts tracing first, so their instrumentation can patch them when they load.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const pkgDir = path.resolve(__dirname, '../..');

test('when tracing is loaded (built), then neither node:http nor express is', () => {
  const probe = `
    const Module = require('node:module');
    const load = Module._load;
    const seen = [];
    Module._load = function (request, ...rest) { seen.push(request); return load.call(this, request, ...rest); };
    require(${JSON.stringify(path.join(pkgDir, 'dist/tracing/index.js'))});
    process.stdout.write(JSON.stringify(seen.filter((r) => /^(node:)?https?$|^express$/.test(r))));
  `;
  expect(JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }))).toEqual([]);
});
