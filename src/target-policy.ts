// The SSRF guard: hookflow only calls public addresses unless HOOKFLOW_ALLOW_PRIVATE_TARGETS says otherwise.
// Checked when an endpoint URL is saved and again on every connection, after DNS resolution, so a name that
// later resolves to a private address (DNS rebinding) is refused too.
import { type LookupAddress, type LookupAllOptions, lookup } from 'node:dns';
import { lookup as lookupAsync } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export const BLOCKED_CODE = 'HOOKFLOW_BLOCKED_TARGET';

export class BlockedTargetError extends Error {
  readonly code = BLOCKED_CODE;
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, which is not a public address`);
  }
}

/**
 * Only globally routable unicast addresses: not loopback, private, link-local (cloud metadata at
 * 169.254.169.254 included), unique-local, multicast, carrier-grade NAT, reserved or unspecified.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'unicast';
}

/** The host of a URL as a bare name or address (IPv6 without brackets). */
export function urlHost(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * The first non-public address `url` points to, or null. A name that does not resolve now is let through:
 * the connection-time check still applies once it does.
 */
export async function blockedAddress(url: string): Promise<string | null> {
  const host = urlHost(url);
  if (ipaddr.isValid(host)) return isPublicAddress(host) ? null : host;
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAsync(host, { all: true });
  } catch {
    return null;
  }
  return addresses.find((a) => !isPublicAddress(a.address))?.address ?? null;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for net.connect that refuses names resolving to any non-public address. */
export function guardedLookup(
  hostname: string,
  options: LookupAllOptions | object,
  callback: LookupCallback,
): void {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const blocked = addresses.find((a) => !isPublicAddress(a.address));
    if (blocked) return callback(new BlockedTargetError(hostname, blocked.address), []);
    if ((options as LookupAllOptions).all) return callback(null, addresses);
    return callback(null, addresses[0].address, addresses[0].family);
  });
}
