/**
 * The module contract: what a module declares (its manifest) and what it gets (its context).
 *
 * A module is one folder whose `index.js` default-exports `defineModule({...})`. Nothing runs
 * at import time; the host reads the manifest, checks it (name, `hostApi` range, dependencies,
 * command prefixes), compiles its schemas once, then calls the hooks.
 */
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { Cluster } from '../cluster/store.js';
import type { ConfView } from '../cluster/conf-view.js';
import type { Logger } from './logger.js';

/** The host API this build offers; manifests declare a semver range of it (`hostApi: '^1'`). */
export const HOST_API_VERSION = '1.0.0';

/** Standard I/O of the invoking client (the CLI's terminal, or nothing in the daemon). */
export interface CommandIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stderr is a terminal: progress output is shown only then (or when forced). */
  stderrIsTTY: boolean;
}

export interface HealthCheck {
  severity: 'warning' | 'error';
  summary: string;
  count: number;
  detail: string[];
}

/** Runs CPU-bound work in the host's one piscina pool. */
export interface WorkerPoolHandle {
  /** `filename` is the worker's file URL; `name` the exported function to call. */
  run<T>(task: unknown, opts: { filename: string; name: string; transferList?: ArrayBuffer[] }): Promise<T>;
}

/** Declared options of the module, typed by the manifest's `options` schemas. */
export interface ModuleOptions {
  get<T = unknown>(name: string): T;
  /** Persists the value in the cluster under `<module>/<option>` and notifies the module. */
  set(name: string, value: unknown): Promise<void>;
}

/**
 * A command of the daemon's admin socket (`rbdm daemon SOCKET <prefix>`, `ceph --admin-daemon
 * SOCKET <prefix>`), as rbd-mirror's `rbd mirror status` is: daemon only, not in the CLI.
 * @example
 * { prefix: 'rbd mirror status', desc: 'get status for rbd mirror', handler: () => mirror.status() }
 */
export interface AdminCommandDecl {
  /** Words separated by single spaces; unique across the host's and every module's. */
  prefix: string;
  /** What `help` shows. */
  desc: string;
  /**
   * `cmd` is the request: `{prefix, ...}` as sent, plus `args: string[]` for words after the
   * longest registered prefix a plain-text request matched. Returns a string (sent as is) or
   * a value (sent as JSON); throws a HostError for an error reply (`ERROR: (errno) ...`).
   */
  handler: (cmd: Record<string, unknown>, ctx: ModuleContext) => unknown | Promise<unknown>;
}

/** Admin-socket commands added while serving (per pool, per image, as rbd-mirror's hooks). */
export interface AdminSocketApi {
  /** False in the CLI: `register` then does nothing, so modules need not check. */
  readonly available: boolean;
  /**
   * Adds a command; ERR_MODULE_PREFIX_CLASH (EEXIST) if the host or a module has it. Returns
   * its remover. Every command of a module is removed when the module stops.
   */
  register(decl: AdminCommandDecl): () => void;
}

/** What every hook and handler receives; each module gets its own child context. */
export interface ModuleContext {
  /** The module's name. */
  readonly name: string;
  readonly log: Logger;
  readonly options: ModuleOptions;
  /** Replaces the module's whole health map; `{}` clears it. */
  readonly health: { set(checks: Record<string, HealthCheck>): void; get(): Record<string, HealthCheck> };
  readonly pool: WorkerPoolHandle;
  /** The cluster this host serves, connected on first use with the host's identity. */
  cluster(): Promise<Cluster>;
  /**
   * Connects to another cluster by name (a peer), with the given client entity: a new
   * connection on each call, which the caller shuts down (the host's own cluster is shared).
   */
  connectCluster(clusterName: string, entity?: string): Promise<Cluster>;
  readonly conf: ConfView;
  /** A service another module offers; allowed only for modules in `dependencies`. */
  service<T>(module: string, name: string): T;
  /** Sends a notification to the modules that declared `type` in `notifyTypes`. */
  emit(type: string, id: string): void;
  /** Aborted when the host shuts down. */
  readonly signal: AbortSignal;
  /** The daemon's admin socket (see `AdminCommandDecl`). */
  readonly adminSocket: AdminSocketApi;
}

/** What a command handler receives besides its validated arguments. */
export interface CommandContext extends ModuleContext {
  readonly io: CommandIO;
  /** `plain` or `json`; handlers rarely need it (the host renders results). */
  readonly format: 'plain' | 'json';
}

export type Perm = 'r' | 'rw';

/**
 * A command, as data.
 * @example
 * { prefix: 'pool create', perm: 'rw', desc: 'Create a pool.',
 *   args: Type.Object({ pool: Type.String() }), positional: ['pool'], handler }
 */
export interface CommandDecl<A extends TObject = TObject, R extends TSchema = TSchema> {
  /** Lowercase words, e.g. `mirror pool enable`; unique across all loaded modules. */
  prefix: string;
  /** Other prefixes that run the same command (rbd's `list (ls)`). */
  aliases?: string[];
  /** Help text. */
  desc: string;
  perm: Perm;
  /** JSON Schema of the arguments (a TypeBox object); snake_case property names. */
  args: A;
  /** Properties taken from positional words, in order. */
  positional?: string[];
  /** Single-letter or other aliases of options: `{ l: 'long' }`. */
  optionAliases?: Record<string, string>;
  /** JSON Schema of the result; void commands omit it and print nothing. */
  result?: R;
  /** Plain-text layout of the result (rbd's where rbd has one); JSON when absent. */
  render?: (result: Static<R>, args: Static<A>) => string;
  handler: (args: Static<A>, ctx: CommandContext) => Promise<Static<R> | undefined>;
}

/** An option: a JSON Schema with a default; `runtime` options may change while serving. */
export interface OptionDecl {
  schema: TSchema;
  desc: string;
  runtime?: boolean;
}

export interface ModuleManifest {
  /** Lowercase words and dashes; unique. */
  name: string;
  /** Semver range of HOST_API_VERSION this module is written for, e.g. `^1`. */
  hostApi: string;
  /** Short description shown by `mgr module ls`. */
  desc?: string;
  /** Modules whose services this one uses. */
  dependencies?: string[];
  /** Built-in modules that are always on cannot be disabled (ceph's always-on modules). */
  alwaysOn?: boolean;
  options?: Record<string, OptionDecl>;
  commands?: CommandDecl<any, any>[];
  /** Admin-socket commands, registered while the module is on in a daemon (never in the CLI). */
  adminCommands?: AdminCommandDecl[];
  /** Notification types this module wants `notify()` for. */
  notifyTypes?: string[];
  /** Services offered to modules that depend on this one; built at init, no I/O. */
  services?: (ctx: ModuleContext) => Record<string, unknown>;
  /** Wiring only, no I/O. */
  init?: (ctx: ModuleContext) => void | Promise<void>;
  /** Long-running work in the daemon; returns when `signal` aborts. */
  serve?: (ctx: ModuleContext, signal: AbortSignal) => Promise<void>;
  /** A cue that something of `type` changed; carries no data. */
  notify?: (ctx: ModuleContext, type: string, id: string) => void | Promise<void>;
  /** An option changed. */
  configChanged?: (ctx: ModuleContext, name: string) => void | Promise<void>;
  shutdown?: (ctx: ModuleContext) => void | Promise<void>;
}

/** Identity function that types a manifest; use it as the module's default export. */
export function defineModule<M extends ModuleManifest>(m: M): M {
  return m;
}

/** Types a command declaration so the handler's args come from the schema. */
export function defineCommand<A extends TObject, R extends TSchema = TSchema>(c: CommandDecl<A, R>): CommandDecl<A, R> {
  return c;
}
