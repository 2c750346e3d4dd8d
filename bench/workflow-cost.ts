// `npm run bench:workflow`: what one workflow costs the worker's workflow sandbox, without any server.
// Replays recorded histories of a delivery that succeeds at once and of the two floors' workflows, each many
// times in its own process (alternating, several rounds), and reports the CPU per workflow and how many
// promises each run creates in workflow context. The Temporal SDK captures and source-maps a stack trace
// for every such promise (for its stack-trace query), so the count is a cost of its own.
// `--record-floors` records the floors' histories again after a change to bench/floor-workflow.ts (their
// replay fails until then).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startStack } from '../test/helpers/stack';

const root = join(__dirname, '..');
const KINDS = {
  hookflow: {
    history: 'test/histories/4-actions/succeeded.json',
    workflows: 'workflows/index.ts',
  },
  'regular floor': { history: 'bench/histories/floor-regular.json', workflows: 'bench/floor-workflow.ts' },
  'local-activity floor': {
    history: 'bench/histories/floor-local.json',
    workflows: 'bench/floor-workflow.ts',
  },
} as const;
type Kind = keyof typeof KINDS;

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
    child: { type: 'string' },
    count: { type: 'boolean', default: false },
    'record-floors': { type: 'boolean', default: false },
  },
});

/** In workflow context: the promise's realm is a workflow sandbox, which has an activator. */
function inWorkflowContext(promise: Promise<unknown>): boolean {
  const realmFunction = promise.constructor.constructor as FunctionConstructor;
  return realmFunction('return globalThis.__TEMPORAL_ACTIVATOR__')() !== undefined;
}

async function child(kind: Kind, runs: number, count: boolean) {
  let promises = 0;
  if (count) {
    // Wraps the SDK's promise hook (installed when the first sandbox is created) to count its calls.
    const v8 = require('node:v8') as typeof import('node:v8');
    const createHook = v8.promiseHooks.createHook;
    v8.promiseHooks.createHook = (hooks) =>
      createHook({
        ...hooks,
        init(promise, parent) {
          if (inWorkflowContext(promise)) promises++;
          hooks.init?.(promise, parent);
        },
      });
  }
  const { Worker, bundleWorkflowCode } = await import('@temporalio/worker');
  const { history: file, workflows } = KINDS[kind];
  const history = historyFromJSON(JSON.parse(readFileSync(join(root, file), 'utf8')));
  const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: join(root, workflows), logger: silent });
  const replay = async (n: number, prefix: string) => {
    const results = Worker.runReplayHistories(
      { workflowBundle },
      (async function* () {
        for (let i = 0; i < n; i++) yield { workflowId: `${prefix}-${i}`, history };
      })(),
    );
    for await (const result of results) if (result.error) throw result.error;
  };
  await replay(Math.min(200, runs), 'warm-up');
  promises = 0;
  const cpu = process.cpuUsage();
  await replay(runs, 'measured');
  const used = process.cpuUsage(cpu);
  return { cpuMsPerWorkflow: (used.user + used.system) / 1000 / runs, promisesPerWorkflow: promises / runs };
}

function runChild(kind: Kind, runs: number, count: boolean) {
  const args = ['--import', 'tsx', __filename, '--child', kind, '--runs', String(runs)];
  if (count) args.push('--count');
  const out = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  const line = out.stdout.split('\n').find((l) => l.startsWith('{"result"'));
  if (!line) throw new Error(`replay of ${kind} failed:\n${out.stderr.slice(-2000)}`);
  return JSON.parse(line).result as { cpuMsPerWorkflow: number; promisesPerWorkflow: number };
}

/** Records the floors' histories again (after a change to bench/floor-workflow.ts), on a dev server of its own. */
async function recordFloors() {
  const { Worker } = await import('@temporalio/worker');
  const stack = await startStack({ worker: false });
  try {
    const worker = await Worker.create({
      connection: stack.client.connection as never,
      taskQueue: 'floor-histories',
      workflowsPath: join(root, 'bench', 'floor-workflow.ts'),
      activities: { async noop() {} },
    });
    await worker.runUntil(async () => {
      for (const [workflow, kind] of [
        ['floorWorkflow', 'floor-regular'],
        ['floorLocalWorkflow', 'floor-local'],
      ] as const) {
        const handle = await stack.client.workflow.start(workflow, {
          taskQueue: 'floor-histories',
          workflowId: workflow,
          args: ['x'],
        });
        await handle.result();
        writeFileSync(
          join(root, 'bench', 'histories', `${kind}.json`),
          historyToJSON(await handle.fetchHistory()),
        );
      }
    });
  } finally {
    await stack.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const runs = Number(opts.runs);
  if (opts['record-floors']) return recordFloors();
  if (opts.child) {
    const result = await child(opts.child as Kind, runs, opts.count);
    process.stdout.write(`${JSON.stringify({ result })}\n`);
    return;
  }
  const kinds = Object.keys(KINDS) as Kind[];
  const promises = Object.fromEntries(kinds.map((k) => [k, runChild(k, 100, true).promisesPerWorkflow]));
  const cpu: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let round = 1; round <= Number(opts.rounds); round++) {
    for (const kind of kinds) cpu[kind].push(runChild(kind, runs, false).cpuMsPerWorkflow);
  }
  const rows = kinds.map((kind) => ({
    workflow: kind,
    promisesPerWorkflow: promises[kind],
    cpuMsPerWorkflow: Number(median(cpu[kind]).toFixed(2)),
    cpuMsPerRound: cpu[kind].map((x) => Number(x.toFixed(2))),
  }));
  console.table(rows);
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-workflow-cost.json`);
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version };
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), kind: 'workflow-cost', machine, runs, rows }, null, 2)}\n`,
  );
  console.log(`results written to ${file}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
