/**
 * The apiserver's way to the Dapr webhooks. On a real cluster the apiserver dials the
 * `dapr-sidecar-injector` Service's ClusterIP; here nothing routes ClusterIPs, so the
 * apiserver's "cluster" egress (--egress-selector-config-file, the mechanism EKS and
 * konnectivity use) goes through this HTTP CONNECT proxy, which forwards a known
 * Service address to the loopback port its process listens on. TLS stays end to end:
 * the apiserver still checks the injector's certificate (issued by sentry for
 * dapr-sidecar-injector.dapr-system.svc) against the webhook's caBundle.
 */
import http from 'node:http';
import net from 'node:net';

export interface WebhookProxy {
  /** Service address as the apiserver dials it (`<clusterIP>:443`) → loopback port. */
  routes: Map<string, number>;
  close(): Promise<void>;
}

export async function startWebhookProxy(socket: string): Promise<WebhookProxy> {
  const routes = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    const port = routes.get(target);
    if (port === undefined) {
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      return;
    }
    const upstream = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    routes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
