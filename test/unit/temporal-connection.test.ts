import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { temporalConnectionOptions } from '../../src/temporal';

describe('Temporal connection settings (the SDK environment configuration)', () => {
  // No TOML profile from the machine running the tests.
  const base = { TEMPORAL_CONFIG_FILE: join(tmpdir(), 'hookflow-no-such-config.toml') };

  it('turns TLS on with an API key, as Temporal Cloud wants', () => {
    const options = temporalConnectionOptions({
      ...base,
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_API_KEY: 'k-123',
    });
    assert.equal(options.address, 'ns.acct.tmprl.cloud:7233');
    assert.equal(options.apiKey, 'k-123');
    assert.equal(options.tls, true);
    const off = temporalConnectionOptions({
      ...base,
      TEMPORAL_ADDRESS: 'a:7233',
      TEMPORAL_API_KEY: 'k',
      TEMPORAL_TLS: 'false',
    });
    assert.equal(off.tls, false);
  });

  it('reads the CA, server name and client pair for mutual TLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookflow-conn-'));
    for (const name of ['ca', 'cert', 'key']) writeFileSync(join(dir, name), `${name}-pem`);
    const options = temporalConnectionOptions({
      ...base,
      TEMPORAL_ADDRESS: 'frontend:7233',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'cert'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'key'),
    });
    const tls = options.tls as {
      serverNameOverride: string;
      serverRootCACertificate: Buffer;
      clientCertPair: { crt: Buffer; key: Buffer };
    };
    assert.equal(tls.serverNameOverride, 'temporal.internal');
    assert.equal(Buffer.from(tls.serverRootCACertificate).toString(), 'ca-pem');
    assert.equal(Buffer.from(tls.clientCertPair.crt).toString(), 'cert-pem');
    assert.equal(Buffer.from(tls.clientCertPair.key).toString(), 'key-pem');
    assert.equal(options.apiKey, undefined);
  });

  it('says which settings cannot be used', () => {
    assert.throws(
      () =>
        temporalConnectionOptions({
          ...base,
          TEMPORAL_ADDRESS: 'a:7233',
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/no/such/ca.pem',
        }),
      /the Temporal connection settings \(TEMPORAL_\*\) cannot be used: .*\/no\/such\/ca\.pem/,
    );
  });
});
