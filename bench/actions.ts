// `npm run bench:actions`: the Temporal Cloud billable actions of a delivery by outcome, counted from the
// recorded histories (test/histories/, the newest recording of each scenario), by Temporal Cloud's rules:
// a workflow start (continue-as-new and child starts too), each activity scheduled or retried, the local
// activities of one workflow task as one, each timer, each signal received, each search-attribute upsert
// (those given at start are free). Queries also count but leave nothing in a history; none is part of a
// delivery's life. Prints a table and writes the counts as JSON to bench/results/.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeResult } from './report';

const HISTORIES = join(__dirname, '..', 'test', 'histories');

interface HistoryEvent {
  eventType: string;
  activityTaskStartedEventAttributes?: { attempt?: number };
  markerRecordedEventAttributes?: { markerName?: string };
  upsertWorkflowSearchAttributesEventAttributes?: {
    searchAttributes?: { indexedFields?: Record<string, unknown> };
  };
}

const KINDS = ['start', 'activity', 'local activities', 'timer', 'signal', 'search attributes'] as const;
type Counts = Record<(typeof KINDS)[number], number>;

export function billableActions(events: HistoryEvent[]): Counts {
  const counts: Counts = {
    start: 0,
    activity: 0,
    'local activities': 0,
    timer: 0,
    signal: 0,
    'search attributes': 0,
  };
  let localInThisTask = false;
  for (const e of events) {
    const type = e.eventType.replace(/^EVENT_TYPE_/, '');
    if (type === 'WORKFLOW_TASK_COMPLETED') localInThisTask = false;
    if (type === 'WORKFLOW_EXECUTION_STARTED' || type === 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW')
      counts.start++;
    if (type === 'START_CHILD_WORKFLOW_EXECUTION_INITIATED') counts.start++;
    if (type === 'ACTIVITY_TASK_SCHEDULED') counts.activity++;
    if (type === 'ACTIVITY_TASK_STARTED')
      counts.activity += Math.max(0, (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
    if (
      type === 'MARKER_RECORDED' &&
      /local_?activity/i.test(e.markerRecordedEventAttributes?.markerName ?? '')
    ) {
      if (!localInThisTask) counts['local activities']++;
      localInThisTask = true;
    }
    if (type === 'TIMER_STARTED') counts.timer++;
    if (type === 'WORKFLOW_EXECUTION_SIGNALED') counts.signal++;
    if (type === 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES') {
      const fields = Object.keys(
        e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
      );
      if (fields.some((f) => f !== 'TemporalChangeVersion')) counts['search attributes']++;
    }
  }
  return counts;
}

function main() {
  // The newest recording of each scenario: folders are numbered in release order.
  const latest = new Map<string, string>();
  for (const folder of readdirSync(HISTORIES).sort()) {
    for (const file of readdirSync(join(HISTORIES, folder)))
      latest.set(file.replace(/\.json$/, ''), join(folder, file));
  }
  const rows: Record<string, Counts & { total: number; recording: string }> = {};
  for (const [scenario, file] of [...latest].sort()) {
    const history = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')) as { events: HistoryEvent[] };
    const counts = billableActions(history.events);
    const total = KINDS.reduce((sum, k) => sum + counts[k], 0);
    rows[scenario] = { ...counts, total, recording: file };
  }
  const header = ['scenario'.padEnd(48), ...KINDS.map((k) => k.padStart(11)), 'total'.padStart(6)].join(' ');
  process.stdout.write(`${header}\n`);
  for (const [scenario, row] of Object.entries(rows)) {
    process.stdout.write(
      `${[scenario.padEnd(48), ...KINDS.map((k) => String(row[k]).padStart(11)), String(row.total).padStart(6)].join(' ')}\n`,
    );
  }
  const result: { kind: string; actionsByScenario: typeof rows } = {
    kind: 'actions',
    actionsByScenario: rows,
  };
  process.stdout.write(`results written to ${writeResult(result)}\n`);
}

if (require.main === module) main();
