/**
 * dynalite's own CLI, with one difference: a request its caller aborts
 * (daprd cancelling a read whose request has ended) does not kill the server.
 * dynalite rethrows the request's 'aborted' error (`req.on('error', throw)`),
 * which would end the process; real DynamoDB shrugs such a caller off.
 */
process.on('uncaughtException', (err: NodeJS.ErrnoException) => {
  if (err.code === 'ECONNRESET' && err.message === 'aborted') return;
  console.error(err);
  process.exit(1);
});
// eslint-disable-next-line @typescript-eslint/no-require-imports -- runs dynalite's CLI as it is, after the handler above
require('dynalite/cli.js');
