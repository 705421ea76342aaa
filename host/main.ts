/**
 * `rbdm-mirror`: the long-running host. Loads the modules for its cluster, runs their
 * `serve` loops, answers on an admin socket, reopens its log on SIGHUP (logrotate) and
 * shuts down cleanly on SIGTERM/SIGINT.
 *
 *   rbdm-mirror -f --cluster local --id rbd-mirror.a --log-file=/var/log/rbdm/local.log
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import yargs from './vendor/yargs.js';
import { entityFromArgs } from './cluster/entity-name.js';
import { HostError } from './errors.js';
import { AdminSocketServer } from './runtime/admin-socket.js';
import { Host } from './runtime/host.js';
import { watchModuleChanges } from './runtime/module-change-watch.js';
import { createLogger, FileSink, StreamSink, type LogLevel, type LogSink } from './runtime/logger.js';
import { readVersion } from './version.js';

interface DaemonArgs {
  foreground: boolean;
  stderrLog: boolean;
  cluster: string;
  conf?: string;
  id?: string;
  name?: string;
  keyring?: string;
  logFile?: string;
  logLevel: LogLevel;
  adminSocket?: string;
}

function parseArgs(argv: string[]): DaemonArgs {
  const a = yargs(argv)
    .scriptName('rbdm-mirror')
    .usage('rbdm-mirror -f [--cluster NAME] [--id ID] [--log-file PATH]\n\nThe rbdm host daemon: runs the mirroring modules for one cluster.')
    .parserConfiguration({ 'parse-numbers': false, 'camel-case-expansion': false })
    .option('f', { alias: 'foreground', type: 'boolean', default: false, describe: 'stay in the foreground (systemd)' })
    .option('d', { type: 'boolean', default: false, describe: 'foreground, logging to stderr' })
    .option('cluster', { type: 'string', default: 'ceph', describe: 'cluster name: reads $RBDM_CONF_DIR/NAME.conf' })
    .option('conf', { alias: 'c', type: 'string', describe: 'conf file path' })
    .option('id', { alias: 'i', type: 'string', describe: 'client id, e.g. rbd-mirror.a' })
    .option('name', { alias: 'n', type: 'string', describe: 'client name, e.g. client.rbd-mirror.a' })
    .option('keyring', { alias: 'k', type: 'string', describe: 'keyring path' })
    .option('log-file', { type: 'string', describe: 'log file (reopened on SIGHUP)' })
    .option('log-level', { type: 'string', default: 'info', choices: ['error', 'warn', 'info', 'debug'], describe: 'log level' })
    .option('admin-socket', { type: 'string', describe: 'admin socket path (default: conf "admin socket", else /run/rbdm/$cluster-$name.asok)' })
    .strict()
    .exitProcess(false)
    .fail((msg, e) => {
      throw e ?? new HostError('ERR_INVALID_ARGUMENT', 'EINVAL', msg);
    })
    .version(readVersion())
    .help()
    .parseSync() as Record<string, unknown>;
  if (a.help || a.version) process.exit(0);
  const str = (k: string) => (typeof a[k] === 'string' ? { [k]: a[k] as string } : {});
  return {
    foreground: a.f === true || a.d === true,
    stderrLog: a.d === true,
    cluster: String(a.cluster),
    ...str('conf'), ...str('id'), ...str('name'), ...str('keyring'),
    ...(typeof a['log-file'] === 'string' ? { logFile: a['log-file'] } : {}),
    logLevel: a['log-level'] as LogLevel,
    ...(typeof a['admin-socket'] === 'string' ? { adminSocket: a['admin-socket'] } : {}),
  };
}

/** Without -f, re-runs itself detached with -f and returns, as a daemon forks. */
function daemonize(argv: string[]): number {
  // With this process's node flags (the shebang's: bin/rbdm-mirror.js).
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '-f', ...argv], { detached: true, stdio: 'ignore' });
  child.unref();
  process.stdout.write(`rbdm-mirror: started in the background (pid ${child.pid})\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let args: DaemonArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`rbdm-mirror: ${(e as Error).message}\n`);
    return 22;
  }
  if (!args.foreground) return daemonize(argv);

  let sink: LogSink;
  try {
    if (args.logFile) mkdirSync(dirname(args.logFile), { recursive: true });
    sink = args.logFile && !args.stderrLog ? new FileSink(args.logFile) : new StreamSink(process.stderr);
  } catch (e) {
    process.stderr.write(`rbdm-mirror: cannot open log file: ${(e as Error).message}\n`);
    return 2;
  }
  const log = createLogger(sink, args.logLevel);
  let entity: string;
  try {
    entity = entityFromArgs({ ...(args.id ? { id: args.id } : {}), ...(args.name ? { name: args.name } : {}) }).name;
  } catch (e) {
    process.stderr.write(`rbdm-mirror: ${(e as Error).message}\n`);
    return 22;
  }
  const host = new Host({
    clusterName: args.cluster,
    entity,
    log,
    ...(args.conf ? { confPath: args.conf } : {}),
    ...(args.keyring ? { keyringPath: args.keyring } : {}),
  });
  const started = Date.now();
  let asok: AdminSocketServer | undefined;
  const stopWatching = new AbortController();
  let moduleWatch: Promise<void> | undefined;
  try {
    await host.init();
    // Fail fast on a bad conf or keyring: a daemon that cannot reach its cluster is useless.
    await host.cluster();
    const asokPath = args.adminSocket ?? host.confView.get('admin_socket') ?? `/run/rbdm/${args.cluster}-${entity}.asok`;
    mkdirSync(dirname(asokPath), { recursive: true });
    asok = new AdminSocketServer(asokPath, log);
    registerAdminCommands(asok, host, { started, entity, cluster: args.cluster, sink });
    // Before the modules load: their admin commands are checked against the host's.
    host.attachAdminSocket(asok);
    await host.loadModules();
    await asok.start();
    host.startServing();
    moduleWatch = watchModuleChanges(host, stopWatching.signal);
    log.info(`rbdm-mirror ${readVersion()} started: cluster ${args.cluster}, ${entity}, pid ${process.pid}, admin socket ${asokPath}`);
  } catch (e) {
    const he = HostError.wrap(e);
    log.error(`startup failed: ${he.message}`);
    process.stderr.write(`rbdm-mirror: ${he.message}\n`);
    await host.shutdown().catch(() => undefined);
    await asok?.close().catch(() => undefined);
    sink.close();
    return he.errnoNumber;
  }

  process.on('SIGHUP', () => {
    sink.reopen();
    log.info('log reopened (SIGHUP)');
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  log.info('shutting down');
  stopWatching.abort();
  await moduleWatch;
  await asok.close().catch(() => undefined);
  await host.shutdown();
  log.info('stopped');
  sink.close();
  return 0;
}

function registerAdminCommands(asok: AdminSocketServer, host: Host, info: { started: number; entity: string; cluster: string; sink: LogSink }): void {
  asok.register('status', 'daemon status: identity, modules, health', () => ({
    cluster: info.cluster,
    entity: info.entity,
    pid: process.pid,
    version: readVersion(),
    uptime_seconds: Math.round((Date.now() - info.started) / 1000),
    modules: host.listModules().filter((m) => m.enabled).map((m) => m.name),
    refused_modules: host.refused.map((r) => ({ name: r.name, error: r.error.message })),
    health: host.health(),
    worker_threads: host.pool.threads,
  }));
  asok.register('config show', 'show the conf and module options in effect', () => ({
    conf_file: host.confView.path,
    cluster: info.cluster,
    entity: info.entity,
    conf: host.confSections,
    options: Object.fromEntries(host.options().map((o) => [o.key, o.value])),
  }));
  asok.register('log reopen', 'reopen the log file (after logrotate)', () => {
    info.sink.reopen();
    return '';
  });
  asok.register('version', 'rbdm version', () => ({ version: readVersion() }));
}
