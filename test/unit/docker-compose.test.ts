// No Docker engine runs here, so the compose file is checked for what it must hold rather than run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));

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
      assert.ok(compose.services[role].command.includes(role));
    }
    const setup = compose.services['temporal-setup'].command.join(' ');
    for (const attribute of [
      'HookflowProjectId',
      'HookflowEndpointId',
      'HookflowEventType',
      'HookflowDeliveryStatus',
    ]) {
      assert.ok(setup.includes(attribute), attribute);
    }
  });
});
