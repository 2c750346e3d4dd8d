// Payload validation against an event type's JSON Schema (2020-12, with ajv): schemas are checked when saved,
// compiled once per schema version and cached; a payload that does not match is a 422 pointing into it.
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { ZodError } from 'zod';
import { measure } from '../http/body';
import { RequestValidationError } from '../http/errors';

// `format` is an annotation in 2020-12 unless a schema opts into assertion: not checked. allErrors: a sender
// fixing a payload sees every problem at once (bounded below).
const ajv = new Ajv2020({ allErrors: true, validateFormats: false, strict: false });

/** Compiled validators by event type id and schema version, most recent last. */
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 1000;
/** Problems reported per payload at most. */
const MAX_ISSUES = 20;
/** Nesting a payload validated against a schema may have (any body may nest 32 levels: src/http/body.ts). */
export const MAX_DEPTH = 20;

/** Null when `schema` is a valid JSON Schema, else what is wrong with it and where. */
export function schemaProblem(schema: unknown): { path: (string | number)[]; message: string } | null {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return { path: [], message: 'a JSON Schema is an object' };
  if (!ajv.validateSchema(schema)) {
    const [first] = ajv.errors ?? [];
    return { path: pathOf(first?.instancePath ?? ''), message: first?.message ?? 'not a valid JSON Schema' };
  }
  try {
    ajv.compile(schema);
    return null;
  } catch (err) {
    return { path: [], message: (err as Error).message };
  }
}

function validatorFor(key: string, schemaJson: string): ValidateFunction {
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(JSON.parse(schemaJson));
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, validate);
  }
  return validate;
}

function pathOf(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

function locOf(error: ErrorObject): (string | number)[] {
  const path = pathOf(error.instancePath);
  if (error.keyword === 'required') path.push((error.params as { missingProperty: string }).missingProperty);
  if (error.keyword === 'additionalProperties')
    path.push((error.params as { additionalProperty: string }).additionalProperty);
  return path;
}

/**
 * Throws a 422 whose issues point into `value` (at `base`, e.g. ['payload']) when it does not match the
 * schema of version `key`.
 */
export function assertMatches(
  key: string,
  schemaJson: string,
  value: unknown,
  base: (string | number)[],
): void {
  if (measure(value, MAX_DEPTH, Number.POSITIVE_INFINITY).depth > MAX_DEPTH) {
    throw new RequestValidationError(
      'body',
      new ZodError([
        { code: 'custom', path: base, message: `nested deeper than ${MAX_DEPTH} levels`, input: undefined },
      ]),
    );
  }
  const validate = validatorFor(key, schemaJson);
  if (validate(value)) return;
  const issues = (validate.errors ?? []).slice(0, MAX_ISSUES).map((e) => ({
    code: 'custom' as const,
    path: [...base, ...locOf(e)],
    message: `${e.message ?? 'does not match the schema'}`,
    input: undefined,
  }));
  throw new RequestValidationError('body', new ZodError(issues));
}
