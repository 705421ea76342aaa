/**
 * The module host: loads modules (built-in and third-party), owns the command registry, the
 * worker pool and cluster connections, dispatches commands and runs the daemon lifecycle.
 * The CLI and `rbdm-mirror` both embed it; the CLI dispatches in-process, as `rbd` talks to
 * the cluster directly rather than to a daemon.
 */
import { setMaxListeners } from 'node:events';
import { Type } from '../vendor/typebox.js';
import { err, HostError } from '../errors.js';
import { connectCluster, type LoadedConf } from '../cluster/connect.js';
import type { ConfView } from '../cluster/conf-view.js';
import { loadConf } from '../cluster/conf.js';
import type { Cluster } from '../cluster/store.js';
import { CommandRegistry, type RegisteredCommand } from './command-registry.js';
import { createLogger, NULL_SINK, type Logger } from './logger.js';
import { readEnabledModules, readModuleOptions, writeModuleOption } from './mgr-store.js';
import type { AdminCommandDecl, CommandContext, CommandIO, HealthCheck, ModuleContext, ModuleManifest } from './module-manifest.js';
import type { AdminCommandHandler } from './admin-socket.js';
import { ModuleState, type HostServices } from './module-context.js';
import {
  builtinModulesDir, findModules, orderByDependencies, readManifest,
  type FoundModule, type LoadedManifest, type RefusedModule,
} from './module-loader.js';
import { SchemaCompiler } from './validator.js';
import { WorkerPool } from './worker-pool.js';
import { hostModule } from './host-commands.js';

export interface HostOptions {
  clusterName: string;
  confPath?: string;
  entity: string;
  keyringPath?: string;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Extra module directories (besides `mgr module path` and RBDM_MODULE_PATH). */
  modulePaths?: string[];
  /** Validate handler results against their schemas (always on in tests). */
  validateResults?: boolean;
  hookTimeoutMs?: number;
  /**
   * Compile every schema on first use, without the meta-schema check (the one-shot CLI).
   * Otherwise (the daemon) a third-party module's schemas compile, fully checked, when it
   * loads, so a bad one refuses the module; built-in ones still compile on first use, as they
   * are part of this build and the test suite compiles them all fully checked
   * (test/host/runtime/builtin-schemas.test.ts).
   */
  lazySchemas?: boolean;
}

export interface ModuleListing {
  name: string;
  builtin: boolean;
  alwaysOn: boolean;
  enabled: boolean;
  desc: string;
  error?: string;
}

/** Where modules' admin-socket commands go: the daemon's `AdminSocketServer`. */
export interface AdminCommandTarget {
  register(prefix: string, desc: string, handler: AdminCommandHandler): void;
  unregister(prefix: string): boolean;
}

const EMPTY_CONF = (clusterName: string, entity: string): ConfView => ({
  clusterName, path: '', dir: '', entity, get: () => undefined,
});

export class Host {
  readonly registry: CommandRegistry;
  readonly log: Logger;
  /** `RBDM_WORKER_THREADS` caps the pool's threads (the bench compares 1 and 2); default: one per core. */
  readonly pool = new WorkerPool(Number(process.env.RBDM_WORKER_THREADS) > 0 ? { maxThreads: Number(process.env.RBDM_WORKER_THREADS) } : {});
  private readonly compiler: SchemaCompiler;
  private readonly modules = new Map<string, ModuleState>();
  private readonly refusedModules: RefusedModule[] = [];
  private available: LoadedManifest[] = [];
  private readonly abort = new AbortController();
  private readonly connections = new Map<string, Promise<Cluster>>();
  private conf: LoadedConf | undefined;
  private confError: HostError | undefined;
  private enabled = new Set<string>();
  private isServing = false;
  private adminTarget: AdminCommandTarget | undefined;
  /** Admin-socket prefix → the module that registered it, and that registration. */
  private readonly adminOwners = new Map<string, { module: string; token: object }>();

  constructor(readonly opts: HostOptions) {
    this.log = opts.log ?? createLogger(NULL_SINK);
    this.registry = new CommandRegistry();
    this.compiler = new SchemaCompiler({ metaCheck: !opts.lazySchemas });
    // One listener per loaded module by design (removed when it stops): not a leak past 10.
    setMaxListeners(1000, this.abort.signal);
  }

  /** The conf as read (section → key → value), `{}` when there is none. */
  get confSections(): Record<string, Record<string, string>> {
    return this.conf?.sections ?? {};
  }

  get confView(): ConfView {
    return this.conf?.view ?? EMPTY_CONF(this.opts.clusterName, this.opts.entity);
  }

  /** Reads the conf (a missing conf is remembered, not fatal: `cluster create` needs none). */
  async init(): Promise<void> {
    try {
      this.conf = await loadConf({
        clusterName: this.opts.clusterName,
        entity: this.opts.entity,
        ...(this.opts.confPath !== undefined ? { confPath: this.opts.confPath } : {}),
        ...(this.opts.env !== undefined ? { env: this.opts.env } : {}),
      });
    } catch (e) {
      this.confError = HostError.wrap(e);
    }
  }

  /** The cluster this host serves, connected once with the host's entity. */
  cluster(): Promise<Cluster> {
    return this.connectTo(this.opts.clusterName, this.opts.entity);
  }

  connectTo(clusterName: string, entity: string): Promise<Cluster> {
    const key = `${clusterName}/${entity}`;
    let c = this.connections.get(key);
    if (!c) {
      const own = clusterName === this.opts.clusterName;
      if (own && this.confError) return Promise.reject(this.confError);
      c = connectCluster({
        clusterName,
        entity,
        ...(own && this.opts.confPath !== undefined ? { confPath: this.opts.confPath } : {}),
        ...(own && entity === this.opts.entity && this.opts.keyringPath !== undefined ? { keyringPath: this.opts.keyringPath } : {}),
        ...(this.opts.env !== undefined ? { env: this.opts.env } : {}),
      }, own && entity === this.opts.entity ? this.conf : undefined);
      c.catch(() => this.connections.delete(key));
      this.connections.set(key, c);
    }
    return c;
  }

  /** A new, uncached connection to another cluster (a peer), owned by the caller. */
  connectPeerCluster(clusterName: string, entity: string): Promise<Cluster> {
    return connectCluster({ clusterName, entity, ...(this.opts.env !== undefined ? { env: this.opts.env } : {}) });
  }

  private moduleDirs(): string[] {
    const env = this.opts.env ?? process.env;
    const fromEnv = (env.RBDM_MODULE_PATH ?? '').split(':').filter(Boolean);
    const fromConf = (this.confView.get('mgr_module_path') ?? '').split(/[\s,:]+/).filter(Boolean);
    return [...fromConf, ...fromEnv, ...(this.opts.modulePaths ?? [])];
  }

  /**
   * Loads built-in modules and the enabled third-party ones. Refused modules are logged and
   * listed; the host keeps going without them.
   */
  async loadModules(): Promise<void> {
    const found: FoundModule[] = [
      ...findModules([builtinModulesDir()], true),
      ...findModules(this.moduleDirs(), false),
    ];
    const manifests = await Promise.all(found.map((f) => readManifest(f)));
    const ok: LoadedManifest[] = [];
    for (const m of manifests) {
      if ('error' in m) this.refuse(m);
      else if (ok.some((o) => o.manifest.name === m.manifest.name)) {
        this.refuse({ ...m, name: m.manifest.name, error: err('ERR_MODULE_MANIFEST', `module '${m.manifest.name}' at ${m.path} duplicates one already found`) });
      } else ok.push(m);
    }
    // The host's own commands come first, as an always-on built-in module.
    ok.unshift({ dir: 'mgr', path: builtinModulesDir(), builtin: true, manifest: hostModule(this) });
    this.available = ok;
    this.enabled = await this.readEnabledSet();
    const wanted = ok.filter((m) => m.builtin || this.enabled.has(m.manifest.name));
    const { ordered, refused } = orderByDependencies(wanted);
    for (const r of refused) this.refuse(r);
    const options = await this.readOptions();
    for (const m of ordered) await this.activate(m, options);
  }

  private async readEnabledSet(): Promise<Set<string>> {
    if (!this.available.some((m) => !m.builtin)) return new Set();
    try {
      return await readEnabledModules(await this.cluster());
    } catch (e) {
      this.log.warn(`cannot read the enabled module set: ${(e as Error).message}`);
      return new Set();
    }
  }

  private async readOptions(): Promise<Map<string, unknown>> {
    if (!this.available.some((m) => m.manifest.options && Object.keys(m.manifest.options).length > 0)) return new Map();
    try {
      return await readModuleOptions(await this.cluster());
    } catch {
      return new Map();
    }
  }

  private refuse(r: RefusedModule): void {
    this.refusedModules.push(r);
    this.log.error(`module '${r.name}' refused: ${r.error.message}`);
  }

  private hostServices(): HostServices {
    return {
      log: this.log,
      conf: this.confView,
      pool: this.pool,
      signal: this.abort.signal,
      cluster: () => this.cluster(),
      // A peer connection is the caller's (each caller shuts it down): a cached one would be
      // shared, so one caller's shutdown broke the others and every reconnect after it.
      connectCluster: (c, e) => (c === this.opts.clusterName ? this.connectTo(c, e ?? this.opts.entity) : this.connectPeerCluster(c, e ?? this.opts.entity)),
      lookupService: (module, name) => {
        const m = this.modules.get(module);
        if (!m || !(name in m.services)) throw err('ERR_SERVICE_NOT_FOUND', `module '${module}' offers no service '${name}'`);
        return m.services[name];
      },
      emit: (type, id) => this.emit(type, id),
      persistOption: async (key, value) => writeModuleOption(await this.cluster(), key, value),
      optionChanged: (module, name) => {
        const m = this.modules.get(module);
        if (m?.manifest.configChanged) void this.runHook(m, 'configChanged', () => m.manifest.configChanged!(m.ctx, name));
      },
      adminSocketAvailable: () => this.adminTarget !== undefined,
      registerAdminCommand: (module, decl, ctx) => this.registerAdminCommand(module, decl, ctx),
    };
  }

  /**
   * The daemon's admin socket: modules' `adminCommands` are registered on it while they are
   * on (attach it before `loadModules`, after the host's own socket commands).
   */
  attachAdminSocket(target: AdminCommandTarget): void {
    this.adminTarget = target;
    for (const m of this.modules.values()) {
      for (const decl of m.manifest.adminCommands ?? []) {
        try {
          this.registerAdminCommand(m.manifest.name, decl, m.ctx);
        } catch (e) {
          m.ctx.log.error(`admin socket command '${decl.prefix}' not registered: ${(e as Error).message}`);
        }
      }
    }
  }

  /** Admin-socket prefixes registered by `module`, sorted. */
  adminCommandsOf(module: string): string[] {
    return [...this.adminOwners].filter(([, o]) => o.module === module).map(([p]) => p).sort();
  }

  private registerAdminCommand(module: string, decl: AdminCommandDecl, ctx: ModuleContext): () => void {
    const target = this.adminTarget;
    if (!target) return () => undefined; // the CLI: no socket, nothing to serve
    const owner = this.adminOwners.get(decl.prefix);
    if (owner) {
      throw err('ERR_MODULE_PREFIX_CLASH', `module '${module}': admin socket command '${decl.prefix}' is already registered by module '${owner.module}'`);
    }
    try {
      target.register(decl.prefix, decl.desc, (cmd) => decl.handler(cmd, ctx));
    } catch (e) {
      const he = HostError.wrap(e);
      if (he.code !== 'ERR_MODULE_PREFIX_CLASH') throw he;
      throw err('ERR_MODULE_PREFIX_CLASH', `module '${module}': admin socket command '${decl.prefix}' is already registered by the host`);
    }
    const token = {};
    this.adminOwners.set(decl.prefix, { module, token });
    return () => {
      if (this.adminOwners.get(decl.prefix)?.token !== token) return;
      this.adminOwners.delete(decl.prefix);
      target.unregister(decl.prefix);
    };
  }

  private unregisterAdminCommands(module: string): void {
    for (const [prefix, o] of [...this.adminOwners]) {
      if (o.module !== module) continue;
      this.adminOwners.delete(prefix);
      this.adminTarget?.unregister(prefix);
    }
  }

  /** Compiles schemas, registers commands and runs init; on any failure nothing stays registered. */
  private async activate(m: LoadedManifest, optionValues: Map<string, unknown>): Promise<void> {
    const manifest = m.manifest;
    const state = new ModuleState(manifest, m.builtin, this.hostServices());
    const lazy = this.opts.lazySchemas === true || m.builtin;
    try {
      for (const [opt, decl] of Object.entries(manifest.options ?? {})) {
        const schema = Type.Object({ [opt]: decl.schema });
        const what = `${manifest.name}/${opt}`;
        const stored = optionValues.get(what);
        const declared = (decl.schema as { default?: unknown }).default;
        // Lazy: compiled only if a command sets this option.
        const validate = lazy ? this.compiler.lazy(schema, what) : this.compiler.compile(schema, what);
        // A third-party option's declared default must satisfy its own schema (ajv fills it in).
        if (!lazy) validate({});
        state.options.set(opt, { validate, default: structuredClone(declared), value: stored, runtime: decl.runtime ?? false });
      }
      this.registry.registerModule(manifest.name, manifest.commands ?? [], this.compiler, lazy);
    } catch (e) {
      this.refuse({ ...m, name: manifest.name, error: HostError.wrap(e) });
      return;
    }
    try {
      for (const decl of manifest.adminCommands ?? []) this.registerAdminCommand(manifest.name, decl, state.ctx);
      if (manifest.services) state.services = manifest.services(state.ctx);
      if (manifest.init) await this.runHook(state, 'init', () => manifest.init!(state.ctx));
    } catch (e) {
      this.unregisterAdminCommands(manifest.name);
      this.registry.unregisterModule(manifest.name);
      this.refuse({ ...m, name: manifest.name, error: HostError.wrap(e) });
      return;
    }
    this.modules.set(manifest.name, state);
  }

  private async runHook(m: ModuleState, hook: string, fn: () => unknown): Promise<void> {
    const timeoutMs = this.opts.hookTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(err('ERR_HOOK_TIMEOUT', `module '${m.manifest.name}': ${hook} did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve().then(fn), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Delivers a cue to modules that declared `type`; a failing handler is logged only. */
  emit(type: string, id: string): void {
    for (const m of this.modules.values()) {
      if (m.manifest.notify && (m.manifest.notifyTypes ?? []).includes(type)) {
        void this.runHook(m, 'notify', () => m.manifest.notify!(m.ctx, type, id))
          .catch((e) => m.ctx.log.error(`notify(${type}, ${id}) failed`, e));
      }
    }
  }

  /** Validates, runs and checks the result of a command. Throws HostError. */
  async dispatch(prefix: string, args: Record<string, unknown>, io: CommandIO, format: 'plain' | 'json' = 'plain'): Promise<{ result: unknown; cmd: RegisteredCommand }> {
    const cmd = this.registry.get(prefix);
    if (!cmd) throw err('ERR_UNKNOWN_COMMAND', `unknown command '${prefix}'`);
    cmd.validateArgs(args);
    const state = this.modules.get(cmd.module);
    if (!state) throw err('ERR_MODULE_NOT_FOUND', `module '${cmd.module}' is not loaded`);
    const ctx: CommandContext = { ...state.ctx, io, format };
    let result: unknown;
    try {
      result = await cmd.decl.handler(args, ctx);
    } catch (e) {
      const he = HostError.wrap(e);
      if (he.code === 'ERR_INTERNAL') this.log.error(`command '${prefix}' failed`, e);
      throw he;
    }
    if (result !== undefined && cmd.validateResult && this.opts.validateResults) cmd.validateResult(result);
    return { result, cmd };
  }

  listModules(): ModuleListing[] {
    const out: ModuleListing[] = [];
    for (const m of this.available) {
      const refused = this.refusedModules.find((r) => r.name === m.manifest.name);
      out.push({
        name: m.manifest.name,
        builtin: m.builtin,
        alwaysOn: m.builtin,
        enabled: this.modules.has(m.manifest.name),
        desc: m.manifest.desc ?? '',
        ...(refused ? { error: refused.error.message } : {}),
      });
    }
    for (const r of this.refusedModules) {
      if (!out.some((o) => o.name === r.name)) {
        out.push({ name: r.name, builtin: r.builtin, alwaysOn: false, enabled: false, desc: '', error: r.error.message });
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A discovered module's manifest (enabled or not), for `mgr module enable`. */
  findAvailable(name: string): LoadedManifest | RefusedModule | undefined {
    return this.available.find((m) => m.manifest.name === name) ?? this.refusedModules.find((r) => r.name === name);
  }

  get refused(): readonly RefusedModule[] {
    return this.refusedModules;
  }

  loaded(name: string): ModuleManifest | undefined {
    return this.modules.get(name)?.manifest;
  }

  health(): Record<string, HealthCheck & { module: string }> {
    const out: Record<string, HealthCheck & { module: string }> = {};
    for (const m of this.modules.values()) {
      for (const [k, v] of Object.entries(m.health)) out[k] = { ...v, module: m.manifest.name };
    }
    return out;
  }

  options(): Array<{ key: string; value: unknown; default: unknown; runtime: boolean; desc: string }> {
    const out = [];
    for (const m of this.modules.values()) {
      for (const [k, slot] of m.options) {
        out.push({ key: `${m.manifest.name}/${k}`, value: slot.value ?? slot.default, default: slot.default, runtime: slot.runtime, desc: m.manifest.options?.[k]?.desc ?? '' });
      }
    }
    return out;
  }

  /** Sets `module/option` through the module's own options (validated, persisted). */
  async setOption(key: string, value: unknown): Promise<void> {
    const [module, opt] = splitOptionKey(key);
    const m = this.modules.get(module);
    if (!m || !m.options.has(opt)) throw err('ERR_OPTION_UNKNOWN', `option '${key}' is not declared by any loaded module`);
    await m.ctx.options.set(opt, value);
  }

  /** Starts every module's `serve` (daemon only); modules enabled later start on activation. */
  startServing(): void {
    this.isServing = true;
    for (const m of this.modules.values()) this.serveModule(m);
  }

  private serveModule(m: ModuleState): void {
    const serve = m.manifest.serve;
    if (!serve || m.serving) return;
    m.serving = Promise.resolve()
      .then(() => serve(m.ctx, m.abort.signal))
      .catch((e) => m.ctx.log.error('serve failed', e));
  }

  /** Ends one module: abort its serve loop, run its shutdown hook, drop its commands. */
  private async stopModule(m: ModuleState): Promise<void> {
    m.detach();
    m.abort.abort();
    const grace = new Promise((r) => setTimeout(r, this.opts.hookTimeoutMs ?? 10_000).unref());
    if (m.serving) await Promise.race([m.serving, grace]);
    if (m.manifest.shutdown) {
      await this.runHook(m, 'shutdown', () => m.manifest.shutdown!(m.ctx)).catch((e) => m.ctx.log.error('shutdown failed', e));
    }
    this.unregisterAdminCommands(m.manifest.name);
    this.registry.unregisterModule(m.manifest.name);
    this.modules.delete(m.manifest.name);
  }

  /**
   * Applies a changed enabled set while serving (`mgr module enable|disable` elsewhere):
   * stops modules no longer wanted (dependents first), activates newly wanted ones.
   */
  async reloadEnabledModules(): Promise<{ started: string[]; stopped: string[] }> {
    this.enabled = await this.readEnabledSet();
    const third = this.available.filter((m) => !m.builtin);
    const wanted = this.available.filter((m) => m.builtin || this.enabled.has(m.manifest.name));
    const { ordered } = orderByDependencies(wanted);
    const keep = new Set(ordered.map((m) => m.manifest.name));
    const stopped: string[] = [];
    for (const m of [...this.modules.values()].reverse()) {
      if (!m.builtin && !keep.has(m.manifest.name)) {
        await this.stopModule(m);
        stopped.push(m.manifest.name);
      }
    }
    const started: string[] = [];
    const fresh = ordered.filter((m) => !this.modules.has(m.manifest.name) && third.includes(m));
    if (fresh.length > 0) {
      const retry = new Set(fresh.map((m) => m.manifest.name));
      for (let i = this.refusedModules.length - 1; i >= 0; i--) {
        if (retry.has(this.refusedModules[i]!.name)) this.refusedModules.splice(i, 1);
      }
      const options = await this.readOptions();
      for (const m of fresh) {
        await this.activate(m, options);
        const state = this.modules.get(m.manifest.name);
        if (state) {
          started.push(m.manifest.name);
          if (this.isServing) this.serveModule(state);
        }
      }
    }
    if (started.length || stopped.length) this.log.info(`modules reloaded: started [${started.join(', ')}], stopped [${stopped.join(', ')}]`);
    return { started, stopped };
  }

  /** Aborts serve loops, runs shutdown hooks, closes the pool and cluster connections. */
  async shutdown(): Promise<void> {
    this.abort.abort();
    for (const m of [...this.modules.values()].reverse()) await this.stopModule(m);
    await this.pool.close();
    for (const c of this.connections.values()) {
      await c.then((cl) => cl.shutdown()).catch(() => undefined);
    }
    this.connections.clear();
  }
}

export function splitOptionKey(key: string): [string, string] {
  const i = key.indexOf('/');
  if (i <= 0 || i === key.length - 1) throw err('ERR_INVALID_ARGUMENT', `option key '${key}' must be MODULE/OPTION`);
  return [key.slice(0, i), key.slice(i + 1)];
}
