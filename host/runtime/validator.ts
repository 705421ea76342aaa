/**
 * The one ajv instance: compiles every command's schemas once, when its module loads
 * (fastify's compileSchemasForValidation), and turns ajv's terse errors into CLI text.
 * Modules never validate: handlers receive arguments that are already checked and coerced.
 */
import { addFormats, Ajv, type ErrorObject, type ValidateFunction } from '../vendor/ajv.js';
import type { TSchema } from '@sinclair/typebox';
import { err } from '../errors.js';

export type Validator = (data: unknown) => void;

export class SchemaCompiler {
  private instance: Ajv | undefined;

  /**
   * `metaCheck: false` skips checking each schema against JSON Schema's meta-schema: compiling
   * that meta-schema is 45 ms of the first compile, and a one-shot CLI command pays it for one
   * schema. Strict mode still refuses unknown keywords and bad types; the daemon keeps the
   * full check (third-party schemas when their module loads, built-in ones on first use).
   */
  constructor(private readonly opts: { metaCheck?: boolean } = {}) {}

  /** Built on first compile: a CLI command without schemas to check never pays for it. */
  private get ajv(): Ajv {
    if (!this.instance) {
      // coerceTypes: the CLI hands over strings; ajv coerces them, one source of errors.
      this.instance = new Ajv({
        strict: true, allErrors: true, useDefaults: true, coerceTypes: 'array', validateSchema: this.opts.metaCheck ?? true,
      });
      addFormats(this.instance);
    }
    return this.instance;
  }

  /** Compiles `schema`; a schema error (e.g. a typo'd keyword) throws at load time. */
  compile(schema: TSchema, what: string): Validator {
    let fn: ValidateFunction;
    try {
      fn = this.ajv.compile(schema);
    } catch (e) {
      throw err('ERR_MODULE_MANIFEST', `${what}: invalid schema: ${(e as Error).message}`);
    }
    return (data: unknown) => {
      if (!fn(data)) throw err('ERR_INVALID_ARGUMENT', formatErrors(what, fn.errors ?? []));
    };
  }

  /**
   * The same validator, compiled on its first call: a one-shot CLI command compiles only the
   * schemas it uses (each compile is a few milliseconds of generated code).
   */
  lazy(schema: TSchema, what: string): Validator {
    let fn: Validator | undefined;
    return (data) => (fn ??= this.compile(schema, what))(data);
  }
}

/** `argument 'mode' must be one of: image, pool`, one line per problem. */
export function formatErrors(what: string, errors: ErrorObject[]): string {
  const lines = errors.map((e) => `${what}: ${describe(e)}`);
  return [...new Set(lines)].join('\n');
}

function argName(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  return path;
}

function describe(e: ErrorObject): string {
  const name = argName(e);
  const subject = name ? `argument '${name}'` : 'arguments';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `missing required argument '${String(p.missingProperty)}'`;
    case 'additionalProperties':
      return `unknown argument '${String(p.additionalProperty)}'`;
    case 'enum':
      return `${subject} must be one of: ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${subject} must be ${JSON.stringify(p.allowedValue)}`;
    case 'type':
      return `${subject} must be ${String(p.type)}`;
    case 'pattern':
      return `${subject} must match pattern ${String(p.pattern)}`;
    case 'format':
      return `${subject} must be a valid ${String(p.format)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${subject} must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'minLength':
      return `${subject} must not be shorter than ${String(p.limit)} characters`;
    case 'maxLength':
      return `${subject} must not be longer than ${String(p.limit)} characters`;
    case 'minItems':
      return `${subject} needs at least ${String(p.limit)} values`;
    default:
      return `${subject} ${e.message ?? 'is invalid'}`;
  }
}
