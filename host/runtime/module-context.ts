/**
 * Builds each module's own child context (fastify's encapsulation): a logger named after the
 * module, its declared options, its health map, and `service()` limited to the modules it
 * declared in `dependencies`.
 */
import { err } from '../errors.js';
import type { ConfView } from '../cluster/conf-view.js';
import type { Cluster } from '../cluster/store.js';
import type { Logger } from './logger.js';
import type { AdminCommandDecl, HealthCheck, ModuleContext, ModuleManifest, ModuleOptions, WorkerPoolHandle } from './module-manifest.js';
import type { Validator } from './validator.js';

/** What the host lends every module context. */
export interface HostServices {
  log: Logger;
  conf: ConfView;
  pool: WorkerPoolHandle;
  signal: AbortSignal;
  cluster(): Promise<Cluster>;
  connectCluster(clusterName: string, entity?: string): Promise<Cluster>;
  lookupService(module: string, name: string): unknown;
  emit(type: string, id: string): void;
  persistOption(key: string, value: unknown): Promise<void>;
  optionChanged(module: string, name: string): void;
  /** Whether an admin socket is attached (the daemon). */
  adminSocketAvailable(): boolean;
  /** Adds a module's admin-socket command; returns its remover. */
  registerAdminCommand(module: string, decl: AdminCommandDecl, ctx: ModuleContext): () => void;
}

export interface OptionSlot {
  validate: Validator;
  default: unknown;
  value: unknown;
  runtime: boolean;
}

export class ModuleState {
  readonly health: Record<string, HealthCheck> = {};
  readonly options = new Map<string, OptionSlot>();
  services: Record<string, unknown> = {};
  readonly ctx: ModuleContext;
  /** Aborted when the module is disabled or the host shuts down; its serve loop's signal. */
  readonly abort = new AbortController();
  serving: Promise<void> | undefined;
  /** Stops following the host's signal; called when the module is stopped. */
  detach: () => void = () => undefined;

  constructor(readonly manifest: ModuleManifest, readonly builtin: boolean, host: HostServices) {
    const name = manifest.name;
    if (host.signal.aborted) this.abort.abort();
    else {
      const onHostAbort = () => this.abort.abort();
      host.signal.addEventListener('abort', onHostAbort, { once: true });
      // A stopped module must not stay listening on the host's signal (a leak per reload).
      this.detach = () => host.signal.removeEventListener('abort', onHostAbort);
    }
    const deps = new Set(manifest.dependencies ?? []);
    const slots = this.options;
    const health = this.health;
    const options: ModuleOptions = {
      get<T>(opt: string): T {
        const slot = slots.get(opt);
        if (!slot) throw err('ERR_OPTION_UNKNOWN', `option '${opt}' is not declared by module '${name}'`);
        return (slot.value ?? slot.default) as T;
      },
      async set(opt: string, value: unknown): Promise<void> {
        const slot = slots.get(opt);
        if (!slot) throw err('ERR_OPTION_UNKNOWN', `option '${opt}' is not declared by module '${name}'`);
        const box = { [opt]: value };
        slot.validate(box);
        await host.persistOption(`${name}/${opt}`, box[opt]);
        slot.value = box[opt];
        host.optionChanged(name, opt);
      },
    };
    this.ctx = {
      name,
      log: host.log.child(name),
      options,
      health: {
        set(checks) {
          for (const k of Object.keys(health)) delete health[k];
          Object.assign(health, checks);
        },
        get: () => ({ ...health }),
      },
      pool: host.pool,
      cluster: () => host.cluster(),
      connectCluster: (c, e) => host.connectCluster(c, e),
      conf: host.conf,
      service<T>(module: string, svc: string): T {
        if (!deps.has(module)) {
          throw err('ERR_SERVICE_NOT_FOUND', `module '${name}' uses '${module}.${svc}' but does not list '${module}' in dependencies`);
        }
        return host.lookupService(module, svc) as T;
      },
      emit: (type, id) => host.emit(type, id),
      signal: this.abort.signal,
      adminSocket: {
        get available() {
          return host.adminSocketAvailable();
        },
        register: (decl) => host.registerAdminCommand(name, decl, this.ctx),
      },
    };
  }
}
