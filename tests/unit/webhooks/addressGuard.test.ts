// The production address check: only public unicast addresses, whatever the spelling, checked
// again in the connection's own lookup so the address connected to is one that passed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addressRange,
  checkPublicUrl,
  ForbiddenAddressError,
  guardedAgent,
} from '../../../src/webhooks/addressGuard.js';

describe('webhook address guard', () => {
  it('names every non-public range, IPv4-mapped IPv6 as the IPv4 it carries', () => {
    expect(addressRange('93.184.216.34')).toBe('unicast');
    expect(addressRange('2606:2800:220:1:248:1893:25c8:1946')).toBe('unicast');
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
    ]) {
      expect(addressRange(address), address).not.toBe('unicast');
    }
  });

  it('refuses literal and resolved loopback hosts', async () => {
    await expect(checkPublicUrl(new URL('http://[::1]:80/'))).rejects.toBeInstanceOf(ForbiddenAddressError);
    await expect(checkPublicUrl(new URL('http://localhost/'))).rejects.toBeInstanceOf(ForbiddenAddressError);
    await expect(checkPublicUrl(new URL('http://0x7f000001/'))).rejects.toBeInstanceOf(ForbiddenAddressError);
  });

  describe('the guarded agent', () => {
    let server: http.Server;
    let port: number;
    let requests = 0;

    beforeAll(async () => {
      server = http.createServer((_req, res) => {
        requests += 1;
        res.end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('will not connect to a host that resolves to loopback', async () => {
      const agent = await guardedAgent();
      const err = (await fetch(`http://localhost:${port}/`, { dispatcher: agent }).catch(
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(String((err.cause as Error | undefined)?.message)).toMatch(/loopback/);
      expect(requests).toBe(0);
      await agent.close();
    });
  });
});
