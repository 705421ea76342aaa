/**
 * The command table: prefix → declaration, with its compiled validators and owning module.
 * A prefix (or alias) that another module already declared is refused as a whole module
 * (ERR_MODULE_PREFIX_CLASH), so the table never holds half a module.
 */
import { err } from '../errors.js';
import type { CommandDecl } from './module-manifest.js';
import type { SchemaCompiler, Validator } from './validator.js';

export interface RegisteredCommand {
  module: string;
  decl: CommandDecl;
  validateArgs: Validator;
  validateResult: Validator | undefined;
}

const PREFIX_RE = /^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$/;

/** What `get_command_descriptions` serves and the CLI is generated from. */
export interface CommandDescription {
  prefix: string;
  aliases: string[];
  module: string;
  desc: string;
  perm: string;
  positional: string[];
  optionAliases: Record<string, string>;
  args: unknown;
}

export class CommandRegistry {
  private readonly byPrefix = new Map<string, RegisteredCommand>();


  /**
   * Checks then registers all of a module's commands, or none. `lazy`: compile a command's
   * validators on its first dispatch instead of now (the host says when: host.ts `activate`).
   */
  registerModule(module: string, decls: CommandDecl[], compiler: SchemaCompiler, lazy = false): void {
    const staged: Array<[string, RegisteredCommand]> = [];
    const seen = new Set<string>();
    for (const decl of decls) {
      for (const prefix of [decl.prefix, ...(decl.aliases ?? [])]) {
        if (!PREFIX_RE.test(prefix)) {
          throw err('ERR_MODULE_MANIFEST', `module '${module}': command prefix '${prefix}' must be lowercase words`);
        }
        const owner = this.byPrefix.get(prefix);
        if (owner || seen.has(prefix)) {
          throw err('ERR_MODULE_PREFIX_CLASH',
            `module '${module}': command '${prefix}' is already declared by module '${owner?.module ?? module}'`);
        }
        seen.add(prefix);
      }
      checkPositional(module, decl);
      const cmd = lazy ? lazyCommand(module, decl, compiler) : {
        module,
        decl,
        validateArgs: compiler.compile(decl.args, decl.prefix),
        validateResult: decl.result ? compiler.compile(decl.result, `${decl.prefix} result`) : undefined,
      };
      for (const prefix of [decl.prefix, ...(decl.aliases ?? [])]) staged.push([prefix, cmd]);
    }
    // A prefix that is also a group of longer prefixes would make `a b` ambiguous in the CLI.
    const all = new Set([...this.byPrefix.keys(), ...staged.map(([p]) => p)]);
    for (const [p] of staged) {
      for (const other of all) {
        if (other !== p && (other.startsWith(`${p} `) || p.startsWith(`${other} `))) {
          const [short, long] = other.length < p.length ? [other, p] : [p, other];
          throw err('ERR_MODULE_PREFIX_CLASH', `module '${module}': command '${short}' is also a group of '${long}'`);
        }
      }
    }
    for (const [p, c] of staged) this.byPrefix.set(p, c);
  }

  unregisterModule(module: string): void {
    for (const [p, c] of this.byPrefix) if (c.module === module) this.byPrefix.delete(p);
  }

  get(prefix: string): RegisteredCommand | undefined {
    return this.byPrefix.get(prefix);
  }

  /** Unique commands (aliases folded), sorted by prefix. */
  list(): RegisteredCommand[] {
    const uniq = new Set(this.byPrefix.values());
    return [...uniq].sort((a, b) => a.decl.prefix.localeCompare(b.decl.prefix));
  }

  describe(): CommandDescription[] {
    return this.list().map((c) => ({
      prefix: c.decl.prefix,
      aliases: c.decl.aliases ?? [],
      module: c.module,
      desc: c.decl.desc,
      perm: c.decl.perm,
      positional: c.decl.positional ?? [],
      optionAliases: c.decl.optionAliases ?? {},
      args: c.decl.args,
    }));
  }
}

function lazyCommand(module: string, decl: CommandDecl, compiler: SchemaCompiler): RegisteredCommand {
  return {
    module,
    decl,
    validateArgs: compiler.lazy(decl.args, decl.prefix),
    validateResult: decl.result ? compiler.lazy(decl.result, `${decl.prefix} result`) : undefined,
  };
}

function checkPositional(module: string, decl: CommandDecl): void {
  const props = (decl.args as { properties?: Record<string, unknown> }).properties ?? {};
  for (const p of decl.positional ?? []) {
    if (!(p in props)) {
      throw err('ERR_MODULE_MANIFEST', `module '${module}': command '${decl.prefix}': positional '${p}' is not in args`);
    }
  }
}
