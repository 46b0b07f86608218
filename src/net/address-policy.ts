import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { type AllowedHost, canonicalHost } from '../config.ts';

/** An address that an outgoing request (a photo, a webhook) may connect to, after the checks. */
export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Why an address is not a public one (loopback, private, link-local, CGNAT, multicast, unspecified,
 * reserved, IPv4 inside IPv6…), or undefined when it is. ipaddr.js keeps the ranges; IPv4-mapped
 * IPv6 addresses are judged as the IPv4 address they carry.
 */
export function nonPublicRange(address: string): string | undefined {
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? undefined : range;
}

function allowedByEntry(entry: AllowedHost, value: string, port: number): boolean {
  return entry.host === value && (entry.port === undefined || entry.port === port);
}

/**
 * Resolves a URL's host and returns the address to connect to. Every address the name resolves to
 * must be public, unless the host name, or the address itself, is in the allow list (IMAGE_ALLOW_HOSTS,
 * WEBHOOK_ALLOW_HOSTS: `allowVariable` names it in the refusal), with its port when the entry names
 * one. The caller connects to exactly this address (see pinnedLookup); `refused` says why there is none.
 */
export async function checkedAddress(
  url: URL,
  allowHosts: readonly AllowedHost[],
  resolve: (host: string) => Promise<CheckedAddress[]> = resolveAll,
  allowVariable = 'IMAGE_ALLOW_HOSTS',
): Promise<CheckedAddress | { refused: string }> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const { host, isIp } = canonicalHost(url.hostname);
  const nameAllowed = !isIp && allowHosts.some((entry) => !entry.isIp && allowedByEntry(entry, host, port));
  const addresses: CheckedAddress[] = isIp
    ? [{ address: host, family: host.includes(':') ? 6 : 4 }]
    : await resolve(host);
  if (addresses.length === 0) return { refused: `${host} has no address` };
  if (!nameAllowed) {
    for (const { address } of addresses) {
      const canonical = ipaddr.process(address).toString();
      if (allowHosts.some((entry) => entry.isIp && allowedByEntry(entry, canonical, port))) continue;
      const range = nonPublicRange(address);
      if (range) {
        return {
          refused: `${isIp ? host : `${host} resolves to ${canonical}`}, in the ${range} range (allow it on purpose with ${allowVariable})`,
        };
      }
    }
  }
  // Checked above: every address is acceptable, so the first one (the resolver's preference) is used.
  const first = ipaddr.process((addresses as [CheckedAddress])[0].address);
  return { address: first.toString(), family: first.kind() === 'ipv6' ? 6 : 4 };
}

async function resolveAll(host: string): Promise<CheckedAddress[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

/**
 * A `lookup` for http(s).request that answers with the checked address whatever the name resolves
 * to now, so a DNS answer that changes between the check and the connection (rebinding) can't
 * redirect the request. TLS still checks the certificate against the URL's host name.
 */
export function pinnedLookup(address: CheckedAddress) {
  return (
    _host: string,
    options: LookupOptions,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    if (options.all) callback(null, [{ address: address.address, family: address.family }]);
    else callback(null, address.address, address.family);
  };
}
