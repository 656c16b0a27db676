/**
 * context-qa on the test node, deployed as docs/deploy-eks.md steps 5 and 6 deploy it, through
 * k8s/overlays/node (the EKS overlay with only the AWS-only parts replaced). What stands in for
 * AWS and Azure runs outside the cluster, as they do on EKS, on the node's address: Redis with
 * TLS and AUTH (ElastiCache), dynalite (DynamoDB) and the model simulator behind TLS. Their test
 * CA goes into the Dapr images' trust store (installDapr) and ai-core's NODE_EXTRA_CA_CERTS.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startSimulator, type Simulator } from '@context-qa/model-sim';
import { APP_NS, overlayCopy, SECRETS, TEST_VALUES } from '../cluster/eks-overlay';
import { start, waitFor } from '../cluster/processes';
import { AI_CORE_IMAGE, GATEWAY_IMAGE, podLog, rolledOut, type TestNode } from './node';

const sh = promisify(execFile);
const REPO = path.join(__dirname, '../..');
/** Where k8s/overlays/node points the stores and models (the node's bridge address). */
const PORTS = { redis: 6379, dynamodb: 8000, models: 8443 };

/** AWS and Azure's stand-ins, off the cluster on the node's address. */
export interface Backing {
  /** The system CA bundle plus the test CA their TLS certificates are signed by. */
  trustBundle: string;
  ca: string;
  redisPassword: string;
  simulator: Simulator;
  stop(): Promise<void>;
}

export interface DeployedApp {
  gateway: string;
  admin: string;
  keys: { ask: string; admin: string; load: string };
}

/** A CA and a serving certificate for `ip`, both in `dir`; returns the CA's path. */
async function makeCerts(dir: string, ip: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (n: string) => path.join(dir, n);
  const ssl = (args: string[]) => sh('openssl', args);
  await ssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('backing-ca.key')].concat([
      '-out',
      f('backing-ca.crt'),
      '-days',
      '1',
      '-subj',
      '/CN=context-qa-node-backing-ca',
    ]),
  );
  await ssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('backing.key'), '-out', f('backing.csr')].concat([
      '-subj',
      '/CN=context-qa-node-backing',
    ]),
  );
  writeFileSync(f('backing.ext'), `subjectAltName=IP:${ip}\n`);
  await ssl(
    ['x509', '-req', '-in', f('backing.csr'), '-CA', f('backing-ca.crt'), '-CAkey', f('backing-ca.key')].concat([
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      f('backing.crt'),
      '-extfile',
      f('backing.ext'),
    ]),
  );
  return { ca: f('backing-ca.crt'), cert: f('backing.crt'), key: f('backing.key') };
}

/** The placeholder values of docs/deploy-eks.md step 6 on this node: every address is the node's. */
function nodeValues(nodeIp: string): Record<string, string> {
  const cidrs = Object.keys(TEST_VALUES).filter((k) => k.includes('_CIDR_'));
  return {
    ...TEST_VALUES,
    ELASTICACHE_PRIMARY_ENDPOINT: nodeIp,
    KUBE_API_SERVICE_IP: '10.96.0.1',
    ...Object.fromEntries(cidrs.map((k) => [k, `${nodeIp}/32`])),
  };
}

export async function startBacking(node: TestNode): Promise<Backing> {
  const { dir } = node;
  const ip = node.net.nodeIp;
  const certs = await makeCerts(dir, ip);
  const trustBundle = path.join(dir, 'trust-bundle.crt');
  writeFileSync(
    trustBundle,
    readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8') + readFileSync(certs.ca, 'utf8'),
  );
  const redisPassword = randomBytes(24).toString('hex');

  // ElastiCache, DynamoDB and the model APIs, off the cluster on the node's address.
  const redis = start(dir, 'redis', 'redis-server', [
    ...['--port', '0', '--tls-port', String(PORTS.redis), '--bind', ip],
    ...['--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca],
    ...['--tls-auth-clients', 'no', '--requirepass', redisPassword, '--save', '', '--appendonly', 'no'],
  ]);
  const dynalite = start(dir, 'dynalite', process.execPath, [
    path.join(REPO, 'packages/testkit/dist/dynalite-main.js'),
    ...['--port', String(PORTS.dynamodb), '--host', ip, '--createTableMs', '0'],
  ]);
  const listening = (port: number) => async () =>
    new Promise<true | undefined>((resolve) => {
      const s = net.connect(port, ip, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(undefined));
    });
  await waitFor('Redis (TLS) on the node address', listening(PORTS.redis), 20_000, redis);
  await waitFor('dynalite on the node address', listening(PORTS.dynamodb), 20_000, dynalite);
  const dynamo = new DynamoDBClient({
    endpoint: `http://${ip}:${PORTS.dynamodb}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // Step 2's table (k8s/aws/dynamodb-table.json: partition key `key`).
  await dynamo.send(
    new CreateTableCommand({
      TableName: 'context-qa',
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  dynamo.destroy();
  const simulator = await startSimulator({ host: '127.0.0.1', port: 0 });
  const models = tls
    .createServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, (client) => {
      const upstream = net.connect(simulator.port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    })
    .listen(PORTS.models, ip);
  await new Promise((r) => models.once('listening', r));

  return {
    trustBundle,
    ca: certs.ca,
    redisPassword,
    simulator,
    stop: async () => {
      await new Promise((r) => models.close(r));
      await simulator.stop();
    },
  };
}

/** Steps 5 and 6 of docs/deploy-eks.md through k8s/overlays/node; Dapr must be installed with `backing.trustBundle`. */
export async function deployApp(node: TestNode, backing: Backing): Promise<DeployedApp> {
  const { kube, dir } = node;
  const ip = node.net.nodeIp;
  // Step 5's secrets, with values this test knows (Redis AUTH, API keys) or random ones.
  const key = () => `cqa_${randomBytes(24).toString('hex')}`;
  const keys = { ask: key(), admin: key(), load: key() };
  // The drills' key: limits far above what a bounded load sends (the shipped defaults would refuse it).
  const unlimited = {
    requestsPerMinute: 100_000,
    tokensPerMinute: 100_000_000,
    tokensPerDay: 1_000_000_000,
    maxInFlight: 256,
  };
  const sha = (k: string) => createHash('sha256').update(k).digest('hex');
  const secretValues: Record<string, string> = {
    'context-qa-redis': backing.redisPassword,
    'gateway-api-keys': JSON.stringify([
      { id: 'team-a', scope: 'ask', sha256: sha(keys.ask) },
      { id: 'ops', scope: 'admin', sha256: sha(keys.admin) },
      { id: 'drills', scope: 'ask', sha256: sha(keys.load), limits: unlimited },
    ]),
  };

  // Step 6's images, under the overlay's ECR names (as `kind load` does).
  const values = nodeValues(ip);
  for (const [local, name] of [
    [GATEWAY_IMAGE, 'gateway-service'],
    [AI_CORE_IMAGE, 'ai-core-service'],
  ] as const) {
    const ecr = `${values['ACCOUNT_ID']}.dkr.ecr.us-east-1.amazonaws.com/context-qa/${name}:0.1.0`;
    await sh('podman', ['tag', local, ecr], {
      env: { ...process.env, CONTAINERS_CONF: path.join(REPO, 'tools/images/containers.conf') },
    });
    await node.importImage(ecr);
  }

  // Step 5: the namespace, the secrets, and (node only) the test CA ai-core trusts and its AWS credentials.
  await kube.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NS } }),
  );
  for (const [name, key] of Object.entries(SECRETS)) {
    const value = secretValues[name] ?? randomBytes(32).toString('hex');
    await kube.kubectl(['-n', APP_NS, 'create', 'secret', 'generic', name, `--from-literal=${key}=${value}`]);
  }
  await kube.kubectl(['-n', APP_NS, 'create', 'configmap', 'node-test-ca', `--from-file=ca.crt=${backing.ca}`]);
  const aws = ['access-key-id', 'secret-access-key'].map(
    (k) => `--from-literal=${k}=${randomBytes(16).toString('hex')}`,
  );
  await kube.kubectl(['-n', APP_NS, 'create', 'secret', 'generic', 'node-test-aws', ...aws]);

  const root = overlayCopy(dir, values);
  await kube.kubectl(['apply', '-k', path.join(root, 'k8s/overlays/node')]);
  for (const app of ['ai-core-service', 'gateway-service']) {
    await rolledOut(kube, APP_NS, `deployment/${app}`, '240s', async () => {
      const d = await kube.kubectlResult(['-n', APP_NS, 'describe', 'pods', '-l', `app.kubernetes.io/name=${app}`]);
      const logs = [app, 'daprd'].map((c) => `--- ${c} ---\n${podLog(dir, APP_NS, `${app}-`, c)}`).join('\n');
      return `${d.stdout}\n${logs}`;
    });
  }
  const clusterIP = async (svc: string) =>
    (await kube.kubectl(['-n', APP_NS, 'get', 'service', svc, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const gateway = `http://${await clusterIP('gateway-service')}`;
  const admin = `http://${await clusterIP('gateway-admin')}:8082`;
  // kube-proxy programs a Service shortly after its EndpointSlice gets the ready Pods (until then: refused).
  for (const base of [gateway, admin])
    await waitFor(
      `${base} answering through its Service`,
      async () => ((await fetch(`${base}/healthz`).catch(() => undefined)) ? true : undefined),
      30_000,
    );
  return { gateway, admin, keys };
}
