// Keeps webhooks from reaching into the service's own network (SSRF): in production a URL whose
// host resolves to anything but a public unicast address is refused, at creation and again at
// each delivery (DNS can change in between). The delivery connects to the very address it
// checked: the check runs inside the connection's own DNS lookup.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Agent } from 'undici';

/** A URL's host is, or resolves to, an address webhooks may not reach. */
export class ForbiddenAddressError extends Error {
  readonly code = 'WEBHOOK_FORBIDDEN_ADDRESS';
  constructor(host: string, address: string, range: string) {
    super(`${host} resolves to ${address} (${range}); webhooks may only reach public addresses`);
    this.name = 'ForbiddenAddressError';
  }
}

/** ipaddr.js's name for the range the address lies in; only 'unicast' is public. */
export function addressRange(address: string): string {
  // process() turns an IPv4-mapped IPv6 address (::ffff:127.0.0.1) into the IPv4 one it carries.
  return ipaddr.process(address).range();
}

function checkAddress(host: string, address: string): void {
  const range = addressRange(address);
  if (range !== 'unicast') throw new ForbiddenAddressError(host, address, range);
}

function lookupAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    );
  });
}

/** A URL's hostname without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Resolves the URL's host (every address it has) and rejects with ForbiddenAddressError when any
 * is not public. Rejects with the DNS error when the host does not resolve.
 */
export async function checkPublicUrl(url: URL): Promise<void> {
  const host = bareHost(url);
  if (ipaddr.isValid(host)) {
    checkAddress(host, host);
    return;
  }
  for (const { address } of await lookupAll(host)) checkAddress(host, address);
}

/** A net/tls lookup that answers only with an address it has checked (the one connected to). */
const checkedLookup: LookupFunction = (hostname, options, callback) => {
  lookupAll(hostname).then(
    (addresses) => {
      try {
        for (const { address } of addresses) checkAddress(hostname, address);
      } catch (err) {
        callback(err as NodeJS.ErrnoException, '', 0);
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      } else if ((options as { all?: boolean }).all === true) {
        (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, addresses);
      } else {
        callback(null, first.address, first.family);
      }
    },
    (err: NodeJS.ErrnoException) => callback(err, '', 0),
  );
};

/** The HTTP agent deliveries use in production: every connection goes to a checked address. */
export async function guardedAgent(): Promise<Agent> {
  const { Agent } = await import('undici');
  return new Agent({ connect: { lookup: checkedLookup } });
}
