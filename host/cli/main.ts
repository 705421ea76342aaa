/**
 * `rbdm`: the admin CLI. Reads the global options, loads the modules in-process (no daemon
 * needed, as `rbd` talks to the cluster itself), generates the yargs tree from the command
 * table, dispatches, renders the result, and maps errors to `rbdm: <message>` + errno exit.
 */
import yargs, { type Argv } from '../vendor/yargs.js';
import { err, HostError } from '../errors.js';
import { Host } from '../runtime/host.js';
import { createLogger, StreamSink, NULL_SINK } from '../runtime/logger.js';
import { commandListing, protectDash, registerCommands, type Invocation } from './build-cli.js';
import { exitCodeOf, printError } from './handle-error.js';
import { renderResult } from './render.js';
import { entityFromArgs } from '../cluster/entity-name.js';
import { readVersion } from '../version.js';

const PARSER = {
  'parse-numbers': false,
  'parse-positional-numbers': false,
  'camel-case-expansion': false,
  'boolean-negation': true,
} as const;

export interface GlobalOptions {
  cluster: string;
  conf?: string;
  id?: string;
  name?: string;
  keyring?: string;
  format: 'plain' | 'json';
  pretty_format: boolean;
  debug: boolean;
}

function globalOptions(y: Argv): Argv {
  return y
    .option('cluster', { type: 'string', default: 'ceph', describe: 'cluster name: reads $RBDM_CONF_DIR/NAME.conf', global: true })
    .option('conf', { alias: 'c', type: 'string', describe: 'path to the cluster conf file', global: true })
    .option('id', { alias: 'i', type: 'string', describe: 'client id (without the client. prefix)', global: true })
    .option('name', { alias: 'n', type: 'string', describe: 'client name, e.g. client.admin', global: true })
    .option('keyring', { alias: 'k', type: 'string', describe: 'path to the keyring', global: true })
    .option('format', { type: 'string', default: 'plain', describe: 'output format (plain|json)', global: true })
    .option('pretty-format', { type: 'boolean', default: false, describe: 'indent JSON output', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'log to stderr', global: true });
}

/** First pass: only the globals, to know which cluster and modules to load. */
function readGlobals(argv: string[]): GlobalOptions {
  const g = globalOptions(yargs(argv)).parserConfiguration(PARSER).help(false).version(false).parseSync() as Record<string, unknown>;
  const format = g.format === 'json' || g.format === 'json-pretty' ? 'json' : g.format === 'plain' ? 'plain' : undefined;
  if (!format) throw err('ERR_INVALID_ARGUMENT', `invalid output format '${String(g.format)}': expected plain or json`);
  for (const k of ['cluster', 'conf', 'id', 'name', 'keyring']) {
    if (Array.isArray(g[k])) throw err('ERR_INVALID_ARGUMENT', `option --${k} given more than once`);
  }
  return {
    cluster: String(g.cluster),
    ...(g.conf !== undefined ? { conf: String(g.conf) } : {}),
    ...(g.id !== undefined ? { id: String(g.id) } : {}),
    ...(g.name !== undefined ? { name: String(g.name) } : {}),
    ...(g.keyring !== undefined ? { keyring: String(g.keyring) } : {}),
    format,
    pretty_format: g['pretty-format'] === true || g.format === 'json-pretty',
    debug: g.debug === true,
  };
}

class UsageError extends HostError {
  constructor(msg: string) {
    super('ERR_INVALID_ARGUMENT', 'EINVAL', msg);
  }
}

export async function main(argv: string[]): Promise<number> {
  let host: Host | undefined;
  try {
    const g = readGlobals(argv);
    const entity = entityFromArgs({ ...(g.id !== undefined ? { id: g.id } : {}), ...(g.name !== undefined ? { name: g.name } : {}) }).name;
    host = new Host({
      clusterName: g.cluster,
      entity,
      ...(g.conf !== undefined ? { confPath: g.conf } : {}),
      ...(g.keyring !== undefined ? { keyringPath: g.keyring } : {}),
      log: createLogger(g.debug ? new StreamSink(process.stderr) : NULL_SINK, g.debug ? 'debug' : 'error'),
      validateResults: process.env.RBDM_VALIDATE_RESULTS === '1',
      lazySchemas: true,
    });
    await host.init();
    await host.loadModules();
    for (const r of host.refused) {
      if (!r.builtin || g.debug) process.stderr.write(`rbdm: warning: ${r.error.message}\n`);
    }
    const cmds = host.registry.describe();
    let chosen: Invocation | undefined;
    let y = globalOptions(yargs(protectDash(argv)))
      .scriptName('rbdm')
      .parserConfiguration(PARSER)
      .strict()
      .exitProcess(false)
      .version(readVersion())
      .help('help')
      .alias('help', 'h')
      .wrap(Math.min(110, process.stdout.columns ?? 100))
      .usage('rbdm <command> ...\n\nAsynchronous RBD image mirroring: admin commands.')
      .demandCommand(1, 'specify a command (rbdm --help lists them)')
      .epilogue(commandListing(cmds))
      .fail((msg, e) => {
        throw e ?? new UsageError(msg);
      });
    y = registerCommands(y, cmds, (inv) => {
      chosen = inv;
    });
    await y.parseAsync();
    if (!chosen) return 0; // --help or --version printed
    const { result, cmd } = await host.dispatch(chosen.prefix, chosen.args, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      stderrIsTTY: process.stderr.isTTY === true,
    }, g.format);
    const text = renderResult(result, cmd.decl, chosen.args, g.format, g.pretty_format);
    if (text) await writeOut(text);
    return 0;
  } catch (e) {
    const he = e instanceof HostError ? e : HostError.wrap(e);
    printError(he);
    return exitCodeOf(he);
  } finally {
    await host?.shutdown().catch(() => undefined);
  }
}

function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    // EPIPE (`rbdm ls | head`) is not an error worth a stack trace.
    process.stdout.once('error', () => resolve());
    process.stdout.write(text, () => resolve());
  });
}
