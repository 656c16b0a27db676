/**
 * The floor of one Node hop: a bare node:http keep-alive proxy (no framework, no
 * validation, no metrics) forwarding each POST to one upstream. Scenario
 * `efficiency` measures its CPU per request at the same rate as the stack, so a
 * service's CPU-ms per answer can be read against what any Node hop costs here.
 * Run by fork(): `floor-proxy.js <upstream URL>`; sends its port when listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = process.argv[2]!;
const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'api-key': String(req.headers['api-key'] ?? ''),
    };
    const out = http.request(upstream, { method: 'POST', agent, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, { 'content-type': up.headers['content-type'] ?? 'application/json' });
      up.pipe(res);
    });
    out.on('error', () => res.writeHead(502).end());
    out.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
process.on('disconnect', () => process.exit(0));
