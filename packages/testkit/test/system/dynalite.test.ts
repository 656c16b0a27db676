import net from 'node:net';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { dynaliteProcess, ensureContextTable, freePort } from '../../src';

test('when a caller aborts a request mid-body, then dynalite keeps serving (as DynamoDB does)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynalite-'));
  const port = await freePort();
  const proc = dynaliteProcess(port, dir);
  await proc.start();
  try {
    // Headers promise 100 bytes; the caller goes away after 10 (daprd cancelling a read does this).
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(
          'POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 100\r\n\r\n{"Table',
        );
        setImmediate(() => (s.destroy(), resolve()));
      });
    });
    await ensureContextTable(port, 'still-alive'); // a real request after the abort
    expect(proc.running).toBe(true);
  } finally {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
