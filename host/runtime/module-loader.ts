/**
 * Finds module folders and checks their manifests before anything of theirs runs
 * (fastify's checkPluginHealthiness/checkVersion/checkDependencies). A module that fails a
 * check is refused with a clear reason; the host keeps going without it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { satisfies, validRange } from '../vendor/semver.js';
import { err, HostError } from '../errors.js';
import { HOST_API_VERSION, type ModuleManifest } from './module-manifest.js';

export interface FoundModule {
  /** Folder name; the manifest's `name` must equal it. */
  dir: string;
  path: string;
  builtin: boolean;
}

export interface LoadedManifest extends FoundModule {
  manifest: ModuleManifest;
}

export interface RefusedModule extends FoundModule {
  name: string;
  error: HostError;
}

const NAME_RE = /^[a-z][a-z0-9-]*$/;
const HOOKS = ['services', 'init', 'serve', 'notify', 'configChanged', 'shutdown'] as const;

/** The built-in modules folder, next to `host/` in the build. */
export function builtinModulesDir(): string {
  return new URL('../../modules/', import.meta.url).pathname;
}

/** Module folders under each directory: those holding an `index.js`. */
export function findModules(dirs: string[], builtin: boolean): FoundModule[] {
  const found: FoundModule[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir).sort()) {
      const path = resolve(dir, entry);
      if (statSync(path).isDirectory() && existsSync(join(path, 'index.js'))) {
        found.push({ dir: entry, path, builtin });
      }
    }
  }
  return found;
}

/** Imports a module's `index.js` and checks its manifest; never throws. */
export async function readManifest(m: FoundModule): Promise<LoadedManifest | RefusedModule> {
  let exported: unknown;
  try {
    exported = ((await import(pathToFileURL(join(m.path, 'index.js')).href)) as { default?: unknown }).default;
  } catch (e) {
    return refuse(m, m.dir, err('ERR_MODULE_MANIFEST', `module '${m.dir}' failed to import: ${(e as Error).message}`));
  }
  try {
    return { ...m, manifest: checkManifest(m.dir, exported) };
  } catch (e) {
    const name = typeof (exported as ModuleManifest | undefined)?.name === 'string' ? (exported as ModuleManifest).name : m.dir;
    return refuse(m, name, HostError.wrap(e));
  }
}

function refuse(m: FoundModule, name: string, error: HostError): RefusedModule {
  return { ...m, name, error };
}

/** Shape and version checks of a manifest object; throws ERR_MODULE_*. */
export function checkManifest(dir: string, x: unknown): ModuleManifest {
  const bad = (why: string) => err('ERR_MODULE_MANIFEST', `module '${dir}': ${why}`);
  if (typeof x !== 'object' || x === null) throw bad('index.js must default-export defineModule({...})');
  const m = x as Record<string, unknown>;
  if (typeof m.name !== 'string' || !NAME_RE.test(m.name)) throw bad(`name must be lowercase words and dashes, got ${JSON.stringify(m.name)}`);
  if (m.name !== dir) throw bad(`name '${m.name}' must equal its folder name`);
  if (typeof m.hostApi !== 'string' || validRange(m.hostApi) === null) {
    throw bad(`hostApi must be a semver range, got ${JSON.stringify(m.hostApi)}`);
  }
  if (!satisfies(HOST_API_VERSION, m.hostApi)) {
    throw err('ERR_MODULE_API_MISMATCH',
      `module '${dir}' needs host API ${m.hostApi}, this host offers ${HOST_API_VERSION}`);
  }
  if (m.dependencies !== undefined && !(Array.isArray(m.dependencies) && m.dependencies.every((d) => typeof d === 'string'))) {
    throw bad('dependencies must be a list of module names');
  }
  if (m.notifyTypes !== undefined && !(Array.isArray(m.notifyTypes) && m.notifyTypes.every((d) => typeof d === 'string'))) {
    throw bad('notifyTypes must be a list of strings');
  }
  for (const hook of HOOKS) {
    if (m[hook] !== undefined && typeof m[hook] !== 'function') throw bad(`${hook} must be a function`);
  }
  if (m.options !== undefined) {
    if (typeof m.options !== 'object' || m.options === null) throw bad('options must be an object');
    for (const [k, o] of Object.entries(m.options)) {
      if (!/^[a-z][a-z0-9_]*$/.test(k)) throw bad(`option '${k}' must be snake_case`);
      if (typeof o !== 'object' || o === null || typeof (o as { schema?: unknown }).schema !== 'object') {
        throw bad(`option '${k}' needs a schema`);
      }
    }
  }
  if (m.commands !== undefined) {
    if (!Array.isArray(m.commands)) throw bad('commands must be a list');
    for (const [i, c] of (m.commands as unknown[]).entries()) {
      const cmd = c as Record<string, unknown> | null;
      const where = `command #${i}${typeof cmd?.prefix === 'string' ? ` '${cmd.prefix}'` : ''}`;
      if (typeof cmd !== 'object' || cmd === null) throw bad(`${where} must be an object`);
      if (typeof cmd.prefix !== 'string') throw bad(`${where}: prefix must be a string`);
      if (typeof cmd.desc !== 'string' || cmd.desc === '') throw bad(`${where}: desc is required`);
      if (cmd.perm !== 'r' && cmd.perm !== 'rw') throw bad(`${where}: perm must be 'r' or 'rw'`);
      if (typeof cmd.args !== 'object' || cmd.args === null || (cmd.args as { type?: unknown }).type !== 'object') {
        throw bad(`${where}: args must be an object schema`);
      }
      if (typeof cmd.handler !== 'function') throw bad(`${where}: handler must be a function`);
      if (cmd.render !== undefined && typeof cmd.render !== 'function') throw bad(`${where}: render must be a function`);
    }
  }
  return x as ModuleManifest;
}

/**
 * Orders modules so each comes after its dependencies; a module whose dependency is missing
 * or refused (or that sits in a cycle) is refused in turn.
 */
export function orderByDependencies(mods: LoadedManifest[]): { ordered: LoadedManifest[]; refused: RefusedModule[] } {
  const byName = new Map(mods.map((m) => [m.manifest.name, m]));
  const ordered: LoadedManifest[] = [];
  const refused: RefusedModule[] = [];
  const state = new Map<string, 'visiting' | 'done' | 'refused'>();
  const visit = (m: LoadedManifest, chain: string[]): boolean => {
    const name = m.manifest.name;
    const s = state.get(name);
    if (s === 'done') return true;
    if (s === 'refused') return false;
    if (s === 'visiting') {
      refused.push(refuse(m, name, err('ERR_MODULE_DEPENDENCY', `module '${name}': dependency cycle ${[...chain, name].join(' -> ')}`)));
      state.set(name, 'refused');
      return false;
    }
    state.set(name, 'visiting');
    for (const dep of m.manifest.dependencies ?? []) {
      const d = byName.get(dep);
      if (!d || !visit(d, [...chain, name])) {
        if (state.get(name) !== 'refused') {
          refused.push(refuse(m, name, err('ERR_MODULE_DEPENDENCY',
            `module '${name}' depends on '${dep}', which is ${d ? 'refused' : 'not available or not enabled'}`)));
          state.set(name, 'refused');
        }
        return false;
      }
    }
    state.set(name, 'done');
    ordered.push(m);
    return true;
  };
  for (const m of mods) visit(m, []);
  return { ordered, refused };
}
