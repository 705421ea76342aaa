/**
 * The host's logger: leveled lines `TIMESTAMP LEVEL [module] message` to a file (daemon) or
 * stderr (CLI, only at --debug). `reopen()` reopens the file, for logrotate's SIGHUP.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, extra?: unknown): void;
  warn(msg: string, extra?: unknown): void;
  info(msg: string, extra?: unknown): void;
  debug(msg: string, extra?: unknown): void;
  /** A logger that prefixes `[name]`, sharing this one's sink. */
  child(name: string): Logger;
}

export interface LogSink {
  write(line: string): void;
  reopen(): void;
  close(): void;
}

/** Appends to a file; reopen() closes and opens the path again (after logrotate moved it). */
export class FileSink implements LogSink {
  private fd: number;
  constructor(private readonly path: string) {
    this.fd = openSync(path, 'a', 0o640);
  }
  write(line: string): void {
    writeSync(this.fd, line);
  }
  reopen(): void {
    const old = this.fd;
    this.fd = openSync(this.path, 'a', 0o640);
    closeSync(old);
  }
  close(): void {
    closeSync(this.fd);
  }
}

export class StreamSink implements LogSink {
  constructor(private readonly stream: NodeJS.WritableStream) {}
  write(line: string): void {
    this.stream.write(line);
  }
  reopen(): void {}
  close(): void {}
}

/** Discards everything (the CLI's default: stderr carries only errors for the user). */
export const NULL_SINK: LogSink = { write() {}, reopen() {}, close() {} };

function formatExtra(extra: unknown): string {
  if (extra === undefined) return '';
  if (extra instanceof Error) return ` ${extra.stack ?? extra.message}`;
  try {
    return ` ${JSON.stringify(extra)}`;
  } catch {
    return ` ${String(extra)}`;
  }
}

export function createLogger(sink: LogSink, level: LogLevel = 'info', name = ''): Logger {
  const emit = (lvl: LogLevel, msg: string, extra?: unknown) => {
    if (RANK[lvl] > RANK[level]) return;
    const tag = name ? ` [${name}]` : '';
    sink.write(`${new Date().toISOString()} ${lvl.toUpperCase()}${tag} ${msg}${formatExtra(extra)}\n`);
  };
  return {
    error: (m, e) => emit('error', m, e),
    warn: (m, e) => emit('warn', m, e),
    info: (m, e) => emit('info', m, e),
    debug: (m, e) => emit('debug', m, e),
    child: (n) => createLogger(sink, level, name ? `${name}.${n}` : n),
  };
}
