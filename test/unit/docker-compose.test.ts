// No Docker engine runs here, so the compose file and the Dockerfile are checked for what they must hold,
// and against what the README says of them, rather than run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ENV_VARS } from '../../src/config';
import { SearchAttributes } from '../../src/delivery-contract';

const root = join(__dirname, '..', '..');
const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText);
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

/** Rows of the markdown table that follows `heading` in the README. */
function readmeTable(heading: string): string[][] {
  const from = readme.indexOf(heading);
  assert.ok(from >= 0, `README has no ${heading}`);
  const rows: string[][] = [];
  for (const line of readme.slice(from).split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (rows.length) break;
      continue;
    }
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (!cells.every((c) => /^-+$/.test(c))) rows.push(cells);
  }
  return rows.slice(1);
}
const unquote = (cell: string) => cell.replace(/`/g, '');

describe('docker-compose.yml', () => {
  it('has the production-shaped services, each with an image or a build', () => {
    const services = Object.keys(compose.services).sort();
    assert.deepEqual(services, [
      'api',
      'mongodb',
      'postgresql',
      'temporal',
      'temporal-setup',
      'temporal-ui',
      'worker',
    ]);
    for (const [name, service] of Object.entries<Record<string, unknown>>(compose.services)) {
      assert.ok(service.image || service.build, `${name} has an image or a build`);
    }
  });

  it('depends only on services that exist, with conditions', () => {
    for (const [name, service] of Object.entries<{ depends_on?: Record<string, { condition: string }> }>(
      compose.services,
    )) {
      for (const [dep, spec] of Object.entries(service.depends_on ?? {})) {
        assert.ok(compose.services[dep], `${name} depends on unknown service ${dep}`);
        assert.match(spec.condition, /^service_(healthy|completed_successfully|started)$/);
      }
    }
  });

  it('points the API and worker at MongoDB and Temporal, and registers the search attributes', () => {
    for (const role of ['api', 'worker']) {
      const env = compose.services[role].environment;
      assert.match(env.MONGODB_URI, /^mongodb:\/\/mongodb:27017\/hookflow\?replicaSet=rs0$/);
      assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
      // Both roles open sealed secrets: they need the same keys, given by the operator.
      assert.match(env.HOOKFLOW_ENCRYPTION_KEYS, /^\$\{HOOKFLOW_ENCRYPTION_KEYS:\?/);
      assert.ok(compose.services[role].command.includes(role));
    }
    const setup = compose.services['temporal-setup'].command.join(' ');
    for (const { name } of Object.values(SearchAttributes)) assert.ok(setup.includes(name), name);
  });

  it('is the stack the README describes: services, images and ports', () => {
    const rows = readmeTable('### Docker Compose');
    assert.deepEqual(rows.map((r) => unquote(r[0])).sort(), Object.keys(compose.services).sort());
    for (const [name, image, ports] of rows) {
      const service = compose.services[unquote(name)];
      if (service.build) assert.match(image, /Dockerfile/);
      else assert.equal(unquote(image), service.image);
      assert.doesNotMatch(service.image ?? '', /:latest$|^[^:]+$/, `${name} pins its image`);
      assert.deepEqual(ports === '–' ? [] : [ports.split(' ')[0]], service.ports ?? [], `${name} ports`);
    }
  });

  it('gives the roles only variables hookflow reads, each in the README table', () => {
    const documented = readmeTable('### Environment variables').map((r) => unquote(r[0]));
    assert.deepEqual([...documented].sort(), [...ENV_VARS].sort());
    for (const role of ['api', 'worker']) {
      for (const name of Object.keys(compose.services[role].environment)) {
        assert.ok(ENV_VARS.includes(name), `${role} sets ${name}, which hookflow does not read`);
      }
    }
  });

  it('shows, commented, how to connect to Temporal Cloud, TLS clusters and MongoDB Atlas', () => {
    const commented = [...composeText.matchAll(/^\s+# ((?:TEMPORAL|MONGODB|HOOKFLOW)_[A-Z_]+): (.+)$/gm)].map(
      (m) => [m[1], m[2]],
    );
    const names = commented.map(([name]) => name);
    for (const name of names)
      assert.ok(ENV_VARS.includes(name), `the example sets ${name}, which hookflow does not read`);
    for (const name of [
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
      'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'TEMPORAL_TLS_CLIENT_KEY_PATH',
      'MONGODB_URI',
    ])
      assert.ok(names.includes(name), `an example of ${name}`);
    const uris = commented.filter(([name]) => name === 'MONGODB_URI').map(([, uri]) => uri);
    assert.ok(
      uris.some((uri) => uri.startsWith('mongodb+srv://')),
      'an Atlas URI',
    );
    for (const uri of uris) assert.match(uri, /w=majority/);
    assert.ok(
      uris.some((uri) => /replicaSet=.*tls=true/.test(uri)),
      'a replica set over TLS',
    );
  });

  it('health-checks every long-running service and stops the worker after its grace period', () => {
    for (const name of ['postgresql', 'temporal', 'mongodb', 'api', 'worker']) {
      assert.ok(compose.services[name].healthcheck, `${name} has a health check`);
    }
    assert.match(compose.services.api.healthcheck.test.join(' '), /:3000\/readyz/);
    assert.match(compose.services.worker.healthcheck.test.join(' '), /:3001\/readyz/);
    const worker = compose.services.worker;
    const grace = Number(worker.environment.HOOKFLOW_SHUTDOWN_GRACE_MS);
    assert.ok(Number.parseInt(worker.stop_grace_period, 10) * 1000 > grace, 'stop_grace_period > grace');
  });

  it('builds a multi-stage, non-root image with production dependencies and every runtime folder', () => {
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    assert.match(dockerfile, /--omit=dev/);
    assert.match(dockerfile, /^USER node$/m);
    for (const folder of ['src', 'workflows', 'activities']) {
      assert.match(dockerfile, new RegExp(`^COPY ${folder} \\./${folder}$`, 'm'), folder);
    }
  });
});
