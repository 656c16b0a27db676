/**
 * NetworkPolicy rules. With the AWS VPC CNI every pod has a VPC address, so a VPC-wide
 * ipBlock (a /16 is a whole VPC) admits every pod in the cluster; and an egress rule to
 * the whole internet is allowed only when it says why, on named ports, outside private ranges.
 */
import { isIP } from 'node:net';
import type { Doc, IPBlock, NetworkPolicyRule } from './load';
import { placeholdersIn } from './placeholders';
import type { Fail } from './rules';

/** Annotation on a NetworkPolicy that carries why it needs internet egress. */
export const INTERNET_EGRESS_REASON = 'context-qa/internet-egress-reason';
/** An internet (/0) egress peer must except these, so it never reaches into the VPC. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
/** Prefixes this short (or shorter) are VPC-sized: a VPC is at most /16 (IPv4) or /56 (IPv6). */
const VPC_SIZED = { 4: 16, 6: 56 } as const;

/** The prefix length of a CIDR, or undefined when it is not one (e.g. a placeholder). */
export function prefixOf(cidr: string): { family: 4 | 6; prefix: number } | undefined {
  const [ip = '', bits = '', ...rest] = cidr.split('/');
  const family = ({ 4: 4, 6: 6 } as const)[isIP(ip)]; // undefined: not an address
  const prefix = Number(bits);
  if (!family || rest.length > 0 || !/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) return undefined;
  return { family, prefix };
}

/** `strictCidrs`: report values that are not CIDRs (a deployable overlay; placeholders are reported
 * as such); else skip them (a template). */
export function checkNetworkPolicy(d: Doc, strictCidrs: boolean, fail: Fail): void {
  const spec = d.obj['spec'] ?? {};
  const blocks = (peers: { ipBlock?: IPBlock }[] | undefined) =>
    (peers ?? []).map((p) => p.ipBlock).filter((b): b is IPBlock => Boolean(b));
  const parsed = (block: IPBlock) => {
    const p = prefixOf(String(block.cidr));
    if (!p && strictCidrs && placeholdersIn(block.cidr).length === 0) fail(d, `ipBlock ${block.cidr} is not a CIDR`);
    return p;
  };

  for (const rule of spec.ingress ?? []) {
    if (!rule.from?.length) fail(d, 'an ingress rule without `from` admits every source; name them');
    for (const block of blocks(rule.from)) {
      const p = parsed(block);
      if (p && p.prefix <= VPC_SIZED[p.family])
        fail(
          d,
          `ingress from ${block.cidr} is VPC-sized or wider (every pod, with the VPC CNI); use the subnets that need it`,
        );
    }
  }
  for (const rule of spec.egress ?? []) {
    if (!rule.to?.length) fail(d, 'an egress rule without `to` reaches every address; name the destinations');
    for (const block of blocks(rule.to)) {
      const p = parsed(block);
      if (!p) continue;
      if (p.prefix === 0) checkInternetEgress(d, rule, block, fail);
      else if (p.prefix <= VPC_SIZED[p.family])
        fail(d, `egress to ${block.cidr} is VPC-sized or wider; use the subnets of the destination`);
    }
  }
}

function checkInternetEgress(d: Doc, rule: NetworkPolicyRule, block: IPBlock, fail: Fail): void {
  const where = `egress to ${block.cidr}`;
  if (!String(d.obj['metadata']?.annotations?.[INTERNET_EGRESS_REASON] ?? '').trim())
    fail(d, `${where} needs annotation ${INTERNET_EGRESS_REASON} saying why`);
  if (!rule.ports?.length) fail(d, `${where} must name its ports`);
  const except: string[] = block.except ?? [];
  const missing = prefixOf(String(block.cidr))?.family === 4 ? PRIVATE_RANGES.filter((r) => !except.includes(r)) : [];
  if (missing.length) fail(d, `${where} must except the private ranges (missing ${missing.join(', ')})`);
}
