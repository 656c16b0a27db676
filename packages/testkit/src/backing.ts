/**
 * The stacks' backing services as child processes on loopback: Redis (the cache), dynalite (DynamoDB,
 * with the context table) and the model simulator, so tests can stop and restart them.
 */
import net from 'node:net';
import path from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ManagedProcess } from './process';
import { repoRoot } from './paths';
import { httpOk } from './ports';

/** Answers true once Redis replies +PONG on host:port. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (buf) => (socket.destroy(), resolve(buf.toString().startsWith('+PONG'))));
  });
}

/** redis-server from the OS package on loopback, no persistence (a cache). */
export function redisProcess(port: number, logDir: string): ManagedProcess {
  return new ManagedProcess({
    name: `redis:${port}`,
    command: 'redis-server',
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
    ],
    logFile: path.join(logDir, 'redis.log'),
    ready: () => redisPing(port),
  });
}

export const DYNAMODB_REGION = 'us-east-1';
export const dynamoEndpoint = (port: number): string => `http://127.0.0.1:${port}`;

export function dynamoClient(port: number): DynamoDBClient {
  // dynalite accepts any credentials; the SDK still wants some to sign with.
  return new DynamoDBClient({
    endpoint: dynamoEndpoint(port),
    region: DYNAMODB_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/**
 * dynalite (a DynamoDB-compatible server) as a child process so drills can stop it.
 * `dataDir` keeps the data across restarts (LevelDB); without it, in memory.
 */
export function dynaliteProcess(port: number, logDir: string, dataDir?: string): ManagedProcess {
  // The built launcher (dist/), also when this module runs from src/ under ts-jest.
  const cli = path.join(repoRoot, 'packages', 'testkit', 'dist', 'dynalite-main.js');
  return new ManagedProcess({
    name: `dynalite:${port}`,
    command: process.execPath,
    args: [
      cli,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--createTableMs',
      '0',
      ...(dataDir ? ['--path', dataDir] : []),
    ],
    logFile: path.join(logDir, 'dynalite.log'),
    ready: () =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      }),
  });
}

/** Creates the context table (partition key `key`, as Dapr's state.aws.dynamodb expects) unless it exists. */
export async function ensureContextTable(port: number, table: string): Promise<void> {
  const client = dynamoClient(port);
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
  } catch {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } finally {
    client.destroy();
  }
}

/** The model simulator (Bedrock + Azure OpenAI wire protocols) as a process; see tools/model-sim. */
export function simulatorProcess(port: number, logDir: string, env: NodeJS.ProcessEnv = {}): ManagedProcess {
  return new ManagedProcess({
    name: `model-sim:${port}`,
    command: process.execPath,
    args: [path.join(repoRoot, 'tools', 'model-sim', 'dist', 'main.js')],
    env: { SIM_HOST: '127.0.0.1', SIM_PORT: String(port), ...env },
    logFile: path.join(logDir, 'model-sim.log'),
    ready: () => httpOk(`http://127.0.0.1:${port}/healthz`),
  });
}
