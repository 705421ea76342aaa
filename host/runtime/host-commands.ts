/**
 * The host's own commands, registered as the always-on module `mgr` (ceph-mgr's built-in
 * `mgr module ls|enable|disable`), plus `cluster create`, which runs before any cluster
 * exists and so needs the backends, which modules never import.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Type } from '../vendor/typebox.js';
import { err } from '../errors.js';
import { formatConf, resolveConfPath } from '../cluster/conf.js';
import { writeKeyring } from '../cluster/keyring.js';
import { createEmbeddedCluster, generateCephxKey } from '../cluster/embedded/index.js';
import { defineCommand, defineModule, type ModuleManifest } from './module-manifest.js';
import { setModuleEnabled } from './mgr-store.js';
import { adminCommand } from './admin-socket.js';
import type { Host } from './host.js';

const ModuleListing = Type.Object({
  always_on_modules: Type.Array(Type.String()),
  enabled_modules: Type.Array(Type.String()),
  disabled_modules: Type.Array(Type.Object({
    name: Type.String(),
    can_run: Type.Boolean(),
    error_string: Type.String(),
  })),
});

function renderModuleLs(r: { always_on_modules: string[]; enabled_modules: string[]; disabled_modules: Array<{ name: string; can_run: boolean; error_string: string }> }): string {
  const rows: string[] = ['MODULE'];
  for (const n of r.always_on_modules) rows.push(`${n.padEnd(24)} on (always on)`);
  for (const n of r.enabled_modules) rows.push(`${n.padEnd(24)} on`);
  for (const d of r.disabled_modules) rows.push(`${d.name.padEnd(24)} -${d.can_run ? '' : `  (cannot run: ${d.error_string})`}`);
  return rows.join('\n');
}

export function hostModule(host: Host): ModuleManifest {
  return defineModule({
    name: 'mgr',
    hostApi: '^1',
    desc: 'module host administration',
    alwaysOn: true,
    commands: [
      defineCommand({
        prefix: 'mgr module ls',
        desc: 'List modules: always on, enabled, and available but disabled.',
        perm: 'r',
        args: Type.Object({}),
        result: ModuleListing,
        render: renderModuleLs,
        handler: async () => {
          const mods = host.listModules();
          return {
            always_on_modules: mods.filter((m) => m.alwaysOn).map((m) => m.name),
            enabled_modules: mods.filter((m) => !m.alwaysOn && m.enabled).map((m) => m.name),
            disabled_modules: mods.filter((m) => !m.alwaysOn && !m.enabled).map((m) => ({
              name: m.name, can_run: m.error === undefined, error_string: m.error ?? '',
            })),
          };
        },
      }),
      defineCommand({
        prefix: 'mgr module enable',
        desc: 'Enable a module found on the module path (stored in the cluster).',
        perm: 'rw',
        args: Type.Object({ module: Type.String({ minLength: 1, description: 'module name' }) }),
        positional: ['module'],
        handler: async (a) => {
          const found = host.findAvailable(a.module);
          if (!found) throw err('ERR_MODULE_NOT_FOUND', `all available modules: module '${a.module}' not found on the module path`);
          if ('error' in found) throw found.error;
          if (found.builtin) return undefined; // always on: nothing to do, like ceph
          await setModuleEnabled(await host.cluster(), a.module, true);
          return undefined;
        },
      }),
      defineCommand({
        prefix: 'mgr module disable',
        desc: 'Disable a module.',
        perm: 'rw',
        args: Type.Object({ module: Type.String({ minLength: 1, description: 'module name' }) }),
        positional: ['module'],
        handler: async (a) => {
          const found = host.findAvailable(a.module);
          if (found && found.builtin) throw err('ERR_MODULE_ALWAYS_ON', `module '${a.module}' cannot be disabled (always-on)`);
          if (!found) throw err('ERR_MODULE_NOT_FOUND', `module '${a.module}' not found on the module path`);
          await setModuleEnabled(await host.cluster(), a.module, false);
          return undefined;
        },
      }),
      defineCommand({
        prefix: 'mgr config ls',
        desc: 'List the options of the loaded modules with their values.',
        perm: 'r',
        args: Type.Object({}),
        result: Type.Array(Type.Object({ key: Type.String(), value: Type.Unknown(), default: Type.Unknown(), runtime: Type.Boolean(), desc: Type.String() })),
        render: (rows) => ['KEY  VALUE  DEFAULT', ...rows.map((r) => `${r.key}  ${JSON.stringify(r.value)}  ${JSON.stringify(r.default)}`)].join('\n'),
        handler: async () => host.options(),
      }),
      defineCommand({
        prefix: 'mgr config get',
        desc: 'Show one module option (MODULE/OPTION).',
        perm: 'r',
        args: Type.Object({ key: Type.String({ description: 'MODULE/OPTION' }) }),
        positional: ['key'],
        result: Type.Unknown(),
        render: (v) => (typeof v === 'string' ? v : JSON.stringify(v)),
        handler: async (a) => {
          const o = host.options().find((x) => x.key === a.key);
          if (!o) throw err('ERR_OPTION_UNKNOWN', `option '${a.key}' is not declared by any loaded module`);
          return o.value;
        },
      }),
      defineCommand({
        prefix: 'mgr config set',
        desc: 'Set a module option (MODULE/OPTION VALUE); validated against its schema and stored in the cluster.',
        perm: 'rw',
        args: Type.Object({ key: Type.String({ description: 'MODULE/OPTION' }), value: Type.String() }),
        positional: ['key', 'value'],
        handler: async (a) => {
          let v: unknown = a.value;
          try {
            v = JSON.parse(a.value);
          } catch {
            // a bare word stays a string
          }
          await host.setOption(a.key, v);
          return undefined;
        },
      }),
      defineCommand({
        prefix: 'daemon',
        desc: "Send a command to a running daemon's admin socket (like `ceph daemon`): rbdm daemon SOCKET status.",
        perm: 'r',
        args: Type.Object({
          socket: Type.String({ minLength: 1, description: 'admin socket path' }),
          command: Type.Array(Type.String(), { minItems: 1, description: 'command words, e.g. status' }),
        }),
        positional: ['socket', 'command'],
        result: Type.Unknown(),
        render: (v) => (typeof v === 'string' ? v : JSON.stringify(v, null, 4)),
        handler: async (a) => {
          // Plain words: the daemon runs the longest registered prefix with the rest as
          // arguments (`rbd mirror status POOL/IMAGE`), as Ceph's admin socket does.
          const out = await adminCommand(a.socket, a.command.join(' '));
          try {
            return JSON.parse(out) as unknown;
          } catch {
            return out;
          }
        },
      }),
      defineCommand({
        prefix: 'cluster create',
        desc: 'Create an embedded cluster: its data directory, NAME.conf and the client.admin keyring beside it.',
        perm: 'rw',
        args: Type.Object({ data_dir: Type.String({ minLength: 1, description: 'directory for the cluster data' }) }),
        result: Type.Object({ cluster: Type.String(), fsid: Type.String(), conf: Type.String(), keyring: Type.String(), data_dir: Type.String() }),
        render: (r) => `created cluster '${r.cluster}' (fsid ${r.fsid})\n  conf: ${r.conf}\n  keyring: ${r.keyring}\n  data dir: ${r.data_dir}`,
        handler: async (a) => {
          const clusterName = host.opts.clusterName;
          const confPath = resolveConfPath({
            clusterName,
            ...(host.opts.confPath !== undefined ? { confPath: host.opts.confPath } : {}),
            ...(host.opts.env !== undefined ? { env: host.opts.env } : {}),
          });
          if (existsSync(confPath)) throw err('ERR_CLUSTER_EXISTS', `cluster '${clusterName}' already exists: ${confPath}`);
          const dataDir = resolve(a.data_dir);
          const fsid = randomUUID();
          const adminKey = generateCephxKey();
          await createEmbeddedCluster(dataDir, { fsid, adminKey });
          mkdirSync(dirname(confPath), { recursive: true });
          const keyring = resolve(dirname(confPath), `${clusterName}.client.admin.keyring`);
          await writeKeyring(keyring, new Map([['client.admin', { key: adminKey, caps: { mds: 'allow *', mgr: 'allow *', mon: 'allow *', osd: 'allow *' } }]]));
          const { writeFile } = await import('node:fs/promises');
          await writeFile(confPath, formatConf({ global: { fsid, backend: 'embedded', data_dir: dataDir } }), { flag: 'wx' });
          return { cluster: clusterName, fsid, conf: confPath, keyring, data_dir: dataDir };
        },
      }),
    ],
  });
}
