// Payload filters: a MongoDB-style query over `{event_type, payload, headers}` that an event must match to
// reach an endpoint. Evaluated by sift (MongoDB's query semantics: dotted paths, array matching) restricted
// to the operators below, with `$regex` run by RE2 (re2js: linear time, no backtracking), so that no
// filter can stall a publish. Checked when saved: operators, shape, depth, size.

import { RE2JS } from 're2js';
import {
  $and,
  $eq,
  $exists,
  $gt,
  $gte,
  $in,
  $lt,
  $lte,
  $ne,
  $nin,
  $nor,
  $not,
  $options,
  $or,
  $size,
  createEqualsOperation,
  createQueryTester,
} from 'sift';

export const FILTER_OPERATORS = [
  '$eq',
  '$ne',
  '$in',
  '$nin',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$exists',
  '$and',
  '$or',
  '$nor',
  '$not',
  '$size',
  '$regex',
  '$options',
] as const;

export const FILTER_LIMITS = { bytes: 4096, depth: 8, inValues: 100, regexLength: 256 } as const;
const ROOTS = ['event_type', 'payload', 'headers'];
const LOGICAL = new Set(['$and', '$or', '$nor']);

const REGEX_FLAGS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
};

function re2Of(pattern: string, options: unknown): RE2JS {
  let flags = 0;
  for (const flag of typeof options === 'string' ? options : '') flags |= REGEX_FLAGS[flag] ?? 0;
  return RE2JS.compile(pattern, flags);
}

// biome-ignore lint/suspicious/noExplicitAny: sift's operation factories take loosely typed arguments.
const $regex = (pattern: any, ownerQuery: any, options: any) => {
  const re = re2Of(String(pattern), ownerQuery.$options);
  return createEqualsOperation(
    (value: unknown) => typeof value === 'string' && re.matcher(value).find(),
    ownerQuery,
    options,
  );
};

const operations = {
  $eq,
  $ne,
  $in,
  $nin,
  $gt,
  $gte,
  $lt,
  $lte,
  $exists,
  $and,
  $or,
  $nor,
  $not,
  $size,
  $regex,
  $options,
};

export interface FilterProblem {
  path: (string | number)[];
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with `filter` and where, or null when it may be saved. */
export function filterProblem(filter: unknown): FilterProblem | null {
  if (!isObject(filter)) return { path: [], message: 'a filter is an object' };
  if (JSON.stringify(filter).length > FILTER_LIMITS.bytes)
    return { path: [], message: `at most ${FILTER_LIMITS.bytes} bytes` };
  return checkQuery(filter, [], 1, true);
}

function checkQuery(
  query: Record<string, unknown>,
  path: (string | number)[],
  depth: number,
  top: boolean,
): FilterProblem | null {
  if (depth > FILTER_LIMITS.depth)
    return { path, message: `nested deeper than ${FILTER_LIMITS.depth} levels` };
  for (const [key, value] of Object.entries(query)) {
    const at = [...path, key];
    if (LOGICAL.has(key)) {
      if (!Array.isArray(value) || value.length === 0 || !value.every(isObject))
        return { path: at, message: `${key} takes a non-empty list of filters` };
      for (const [n, sub] of value.entries()) {
        const problem = checkQuery(sub as Record<string, unknown>, [...at, n], depth + 1, top);
        if (problem) return problem;
      }
      continue;
    }
    if (key.startsWith('$')) return { path: at, message: `${key} is not an operator here` };
    if (top && !ROOTS.some((root) => key === root || key.startsWith(`${root}.`)))
      return { path: at, message: `a field path starts with ${ROOTS.join(', ')}` };
    if (!/^[A-Za-z0-9_\-:]+(\.[A-Za-z0-9_\-:]+)*$/.test(key))
      return { path: at, message: 'a field path is names separated by dots' };
    const problem = checkCondition(value, at, depth + 1);
    if (problem) return problem;
  }
  return null;
}

/** A field's condition: a value to equal, or an object of operators. */
function checkCondition(condition: unknown, path: (string | number)[], depth: number): FilterProblem | null {
  if (depth > FILTER_LIMITS.depth)
    return { path, message: `nested deeper than ${FILTER_LIMITS.depth} levels` };
  if (!isObject(condition) || !Object.keys(condition).some((k) => k.startsWith('$'))) return null;
  for (const [op, arg] of Object.entries(condition)) {
    const at = [...path, op];
    if (!(FILTER_OPERATORS as readonly string[]).includes(op) || LOGICAL.has(op))
      return { path: at, message: `unknown operator ${op} (allowed: ${FILTER_OPERATORS.join(' ')})` };
    if ((op === '$in' || op === '$nin') && (!Array.isArray(arg) || arg.length > FILTER_LIMITS.inValues))
      return { path: at, message: `${op} takes a list of at most ${FILTER_LIMITS.inValues} values` };
    if (op === '$exists' && typeof arg !== 'boolean')
      return { path: at, message: '$exists takes true or false' };
    if (op === '$size' && !(Number.isInteger(arg) && (arg as number) >= 0))
      return { path: at, message: '$size takes a non-negative integer' };
    if (op === '$not') {
      if (!isObject(arg)) return { path: at, message: '$not takes an operator expression' };
      const problem = checkCondition(arg, at, depth + 1);
      if (problem) return problem;
    }
    if (op === '$options' && (typeof arg !== 'string' || !/^[ims]*$/.test(arg) || !('$regex' in condition)))
      return { path: at, message: '$options goes with $regex and holds only i, m and s' };
    if (op === '$regex') {
      if (typeof arg !== 'string' || arg.length > FILTER_LIMITS.regexLength)
        return {
          path: at,
          message: `$regex takes a pattern of at most ${FILTER_LIMITS.regexLength} characters`,
        };
      try {
        re2Of(arg, condition.$options);
      } catch (err) {
        return { path: at, message: `not a pattern RE2 runs: ${(err as Error).message}` };
      }
    }
  }
  return null;
}

const compiled = new Map<string, (doc: unknown) => boolean>();

/** Whether the event matches the filter (stored as JSON); compiled once per distinct filter. */
export function matchesFilter(
  filterJson: string,
  event: { event_type: string; payload: unknown; headers: Record<string, string> },
): boolean {
  let test = compiled.get(filterJson);
  if (!test) {
    test = createQueryTester(JSON.parse(filterJson), { operations }) as (doc: unknown) => boolean;
    if (compiled.size >= 1000) compiled.delete(compiled.keys().next().value as string);
    compiled.set(filterJson, test);
  }
  return test(event);
}
