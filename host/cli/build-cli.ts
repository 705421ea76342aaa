/**
 * Generates the yargs command tree from the host's command table: prefix words become nested
 * commands, `positional` properties become positionals and the rest options (snake_case, with
 * the kebab-case form as alias). yargs only shapes argv; ajv validates and coerces, so there
 * is one source of error messages (stack-notes §4).
 */
import type { Argv } from '../vendor/yargs.js';
import type { CommandDescription } from '../runtime/command-registry.js';

interface Node {
  word: string;
  children: Map<string, Node>;
  leaf?: CommandDescription;
  /** The prefix that reached this leaf (an alias has its own leaf). */
  prefix?: string;
}

export interface Invocation {
  prefix: string;
  args: Record<string, unknown>;
}

interface PropSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: PropSchema;
  anyOf?: PropSchema[];
}

function buildTree(cmds: CommandDescription[]): Node {
  const root: Node = { word: '', children: new Map() };
  for (const c of cmds) {
    for (const prefix of [c.prefix, ...c.aliases]) {
      let node = root;
      for (const w of prefix.split(' ')) {
        let next = node.children.get(w);
        if (!next) {
          next = { word: w, children: new Map() };
          node.children.set(w, next);
        }
        node = next;
      }
      node.leaf = c;
      node.prefix = prefix;
    }
  }
  return root;
}

function props(c: CommandDescription): Record<string, PropSchema> {
  return ((c.args as { properties?: Record<string, PropSchema> }).properties) ?? {};
}

function required(c: CommandDescription): Set<string> {
  return new Set((c.args as { required?: string[] }).required ?? []);
}

function isType(p: PropSchema, t: string): boolean {
  if (p.anyOf) return p.anyOf.some((s) => isType(s, t));
  return p.type === t || (Array.isArray(p.type) && p.type.includes(t));
}

function describe(p: PropSchema): string {
  let d = p.description ?? '';
  const choices = p.enum ?? p.items?.enum;
  if (choices) d += `${d ? ' ' : ''}(${choices.join('|')})`;
  return d;
}

const kebab = (s: string) => s.replace(/_/g, '-');

/**
 * yargs-parser turns a lone `-` positional into `''`; `-` means stdin/stdout to rbd users
 * (`rbdm import - pool/img`), so the CLI swaps it for this token before parsing and back after.
 */
export const DASH_TOKEN = '\u0000stdio\u0000';

export function protectDash(argv: string[]): string[] {
  return argv.map((a) => (a === '-' ? DASH_TOKEN : a));
}

function restoreDash(v: unknown): unknown {
  if (v === DASH_TOKEN) return '-';
  if (Array.isArray(v)) return v.map(restoreDash);
  return v;
}

/** The leaf's `word <pos1> [pos2] <list..>` command string. */
function commandString(node: Node, c: CommandDescription): string {
  const req = required(c);
  const ps = props(c);
  const parts = c.positional.map((p) => {
    const variadic = isType(ps[p] ?? {}, 'array') ? '..' : '';
    return req.has(p) ? `<${p}${variadic}>` : `[${p}${variadic}]`;
  });
  return [node.word, ...parts].join(' ');
}

function addLeaf(y: Argv, node: Node, c: CommandDescription, onRun: (inv: Invocation) => void): Argv {
  return y.command(
    commandString(node, c),
    c.desc,
    (b: Argv) => {
      const ps = props(c);
      for (const p of c.positional) {
        b.positional(p, { describe: describe(ps[p] ?? {}), type: 'string' });
      }
      for (const [name, p] of Object.entries(ps)) {
        if (c.positional.includes(name)) continue;
        const aliases = [
          ...(kebab(name) !== name ? [kebab(name)] : []),
          ...Object.entries(c.optionAliases).filter(([, to]) => to === name).map(([a]) => a),
        ];
        b.option(name, {
          describe: describe(p),
          type: isType(p, 'boolean') ? 'boolean' : 'string',
          ...(aliases.length ? { alias: aliases } : {}),
        });
      }
      return b;
    },
    (argv: Record<string, unknown>) => {
      const args: Record<string, unknown> = {};
      for (const name of Object.keys(props(c))) {
        const v = argv[name];
        if (v !== undefined) args[name] = restoreDash(v);
      }
      onRun({ prefix: c.prefix, args });
    },
  );
}

function addGroup(y: Argv, node: Node, path: string[], onRun: (inv: Invocation) => void): Argv {
  const subs = [...node.children.keys()].sort();
  return y.command(
    node.word,
    `${path.join(' ')} commands (${subs.join(', ')})`,
    (b: Argv) => {
      for (const child of [...node.children.values()].sort((a, z) => a.word.localeCompare(z.word))) {
        addNode(b, child, [...path, child.word], onRun);
      }
      return b.demandCommand(1, `specify a '${path.join(' ')}' subcommand: ${subs.join(', ')}`);
    },
  );
}

function addNode(y: Argv, node: Node, path: string[], onRun: (inv: Invocation) => void): Argv {
  if (node.leaf) return addLeaf(y, node, node.leaf, onRun);
  return addGroup(y, node, path, onRun);
}

/** Registers every command on `y`; `onRun` receives the chosen prefix and its raw args. */
export function registerCommands(y: Argv, cmds: CommandDescription[], onRun: (inv: Invocation) => void): Argv {
  const root = buildTree(cmds);
  for (const child of [...root.children.values()].sort((a, z) => a.word.localeCompare(z.word))) {
    addNode(y, child, [child.word], onRun);
  }
  return y;
}

/** `All commands:` epilogue so `rbdm --help` lists every leaf, third-party ones included. */
export function commandListing(cmds: CommandDescription[]): string {
  const lines = cmds.map((c) => {
    const root: Node = { word: c.prefix, children: new Map() };
    const alias = c.aliases.length ? ` (${c.aliases.join(', ')})` : '';
    return `  ${commandString(root, c)}${alias}\n      ${c.desc}`;
  });
  return `All commands:\n${lines.join('\n')}`;
}
