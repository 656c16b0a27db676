/**
 * What the ALBs may reach. The gateway serves the admin routes on their own listener
 * (ADMIN_PORT); an internet-facing Ingress routes only to gateway-service's http port and
 * never to a Service that targets the admin port. Only an internal ALB may reach admin.
 */
import type { Doc, IngressBackend } from './load';
import type { Fail } from './rules';

const PUBLIC_SERVICE = 'gateway-service';
const isInternal = (ingress: Doc) =>
  ingress.obj['metadata']?.annotations?.['alb.ingress.kubernetes.io/scheme'] === 'internal';
const backendsOf = (ingress: Doc) => {
  const spec = ingress.obj['spec'] ?? {};
  const paths = (spec.rules ?? []).flatMap((r) => r.http?.paths ?? []);
  return [spec.defaultBackend, ...paths.map((p) => p.backend)]
    .filter((b): b is IngressBackend => Boolean(b))
    .map((b) => b.service ?? {});
};
const gatewayContainer = (d: Doc) =>
  (d.obj['spec']?.template?.spec?.containers ?? []).find((c) => c.name === PUBLIC_SERVICE);

/** The gateway Deployment sets ADMIN_PORT to its `admin` containerPort, apart from `http`. */
export function checkAdminListener(d: Doc, fail: Fail): void {
  const c = gatewayContainer(d);
  if (!c) return fail(d, `no container ${PUBLIC_SERVICE}`);
  const port = (name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
  const adminPort = c.env?.find((e) => e.name === 'ADMIN_PORT')?.value;
  if (adminPort === undefined)
    return fail(d, 'gateway must set ADMIN_PORT, or the admin routes are served on the public port');
  if (String(port('admin')) !== String(adminPort))
    fail(d, `ADMIN_PORT ${adminPort} must be the containerPort named admin (${port('admin') ?? 'none'})`);
  if (String(port('http')) === String(adminPort)) fail(d, 'ADMIN_PORT must differ from the public http port');
}

export function checkIngresses(docs: Doc[], fail: Fail): void {
  const gateway = docs.find((d) => d.obj['kind'] === 'Deployment' && d.obj['metadata']?.name === PUBLIC_SERVICE);
  const adminPort = gateway && gatewayContainer(gateway)?.ports?.find((p) => p.name === 'admin')?.containerPort;
  const targetsAdmin = (svc: Doc) =>
    (svc.obj['spec']?.ports ?? []).some(
      (p) => p.targetPort === 'admin' || (adminPort !== undefined && p.targetPort === adminPort),
    );

  for (const ingress of docs.filter((d) => d.obj['kind'] === 'Ingress')) {
    for (const b of backendsOf(ingress)) {
      if (b.port?.name === 'metrics') fail(ingress, 'must never target a metrics port');
      if (isInternal(ingress)) continue;
      if (b.name !== PUBLIC_SERVICE) fail(ingress, `routes to ${b.name}; only ${PUBLIC_SERVICE} may be public`);
      if (b.port?.name && b.port.name !== 'http') fail(ingress, 'must target the http port (never metrics or admin)');
      const svc = docs.find((d) => d.obj['kind'] === 'Service' && d.obj['metadata']?.name === b.name);
      if (svc && targetsAdmin(svc)) fail(ingress, `is public but Service/${b.name} exposes the gateway's admin port`);
    }
  }
}
