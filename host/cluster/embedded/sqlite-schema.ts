/**
 * The embedded cluster's one SQLite file: schema, pragmas, creation.
 *
 * Everything lives in `<data_dir>/store.db` (plus SQLite's own `-wal`/`-shm`), so SQLite's
 * WAL recovery is the whole crash story, except the bytes of large and chunk-aligned
 * writes: those sit in `objects.data`, named by chunk rows and written only where no
 * committed row points (unit-file.ts), so the file cannot disagree with the database either.
 */
import Database from 'better-sqlite3';
import { existsSync, fsyncSync, linkSync, mkdirSync, openSync, closeSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { err } from '../../errors.js';
import { MAX_OBJECT_SIZE } from '../store.js';

export type Db = Database.Database;

export const DB_FILE = 'store.db';
const SCHEMA_VERSION = 2;

/**
 * Chunk rows hold object data. 4 KiB, measured with test/bench/store-bench.ts on a 2-vCPU
 * ext4 VM (3 interleaved runs, ranges): 4 KiB random overwrites at depth 16 ran at
 * 6.7k-21k ops/s with 4 KiB chunks against 3.1k-9.9k (16 KiB) and 2.2k-4.4k (64 KiB),
 * because a partial chunk write rewrites the whole row; 4 MiB writes lost only about 15%
 * (160-240 MiB/s against 210-285 MiB/s with 64 KiB chunks).
 */
export const DEFAULT_CHUNK_SIZE = 4 * 1024;
/** Chunk keys are `objectId << 16 | index`, so an object may have at most 2^16 chunks. */
export const MIN_CHUNK_SIZE = MAX_OBJECT_SIZE / 65536;

/**
 * SQLite's default page. Larger pages helped 4 MiB writes but slowed omap updates (a
 * small row rewrites a whole page) and did not help 4 KiB chunks measurably.
 */
const PAGE_SIZE = 4096;

/**
 * Version 2: data-file units (unit-file.ts). A chunk row that named a unit and is deleted or
 * rewritten frees it here, in the same transaction, whoever changed the row.
 */
const UNITS_SCHEMA = `
CREATE TABLE free_units (unit INTEGER PRIMARY KEY, freed_at INTEGER NOT NULL);
CREATE INDEX free_units_by_age ON free_units (freed_at, unit);
CREATE TRIGGER chunks_unit_rewritten AFTER UPDATE OF unit ON chunks
  WHEN OLD.unit IS NOT NULL AND OLD.unit IS NOT NEW.unit
  BEGIN INSERT INTO free_units (unit, freed_at) VALUES (OLD.unit, unixepoch()); END;
CREATE TRIGGER chunks_unit_deleted AFTER DELETE ON chunks
  WHEN OLD.unit IS NOT NULL
  BEGIN INSERT INTO free_units (unit, freed_at) VALUES (OLD.unit, unixepoch()); END;
`;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
CREATE TABLE pools (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  last_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE objects (
  id INTEGER PRIMARY KEY,
  pool_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  version INTEGER NOT NULL,
  mtime INTEGER NOT NULL,
  UNIQUE (pool_id, name)
);
CREATE TABLE chunks (k INTEGER PRIMARY KEY, data BLOB NOT NULL, unit INTEGER);
CREATE TABLE xattrs (
  obj_id INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (obj_id, name)
) WITHOUT ROWID;
CREATE TABLE omap (
  obj_id INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (obj_id, key)
) WITHOUT ROWID;
CREATE TABLE locks (
  obj_id INTEGER NOT NULL, name TEXT NOT NULL, instance_id TEXT NOT NULL, cookie TEXT NOT NULL,
  entity TEXT NOT NULL, exclusive INTEGER NOT NULL, tag TEXT NOT NULL,
  description TEXT NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (obj_id, name, instance_id, cookie)
) WITHOUT ROWID;
CREATE TABLE watchers (
  obj_id INTEGER NOT NULL, instance_id TEXT NOT NULL, cookie TEXT NOT NULL,
  entity TEXT NOT NULL, endpoint TEXT NOT NULL,
  PRIMARY KEY (obj_id, instance_id, cookie)
) WITHOUT ROWID;
CREATE INDEX watchers_by_instance ON watchers (instance_id);
CREATE TABLE auth (entity TEXT PRIMARY KEY, key TEXT NOT NULL, caps TEXT NOT NULL) WITHOUT ROWID;
${UNITS_SCHEMA}`;

/**
 * Per-connection settings. `synchronous=FULL` makes what this file's own statements write
 * (creation, upgrades, the instance counter) durable at once; a connection's committer
 * switches to NORMAL and syncs the WAL itself, off the main thread (wal-sync.ts).
 */
function configure(db: Db): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Keeps a WAL that grew past the checkpoint interval from staying large on disk.
  db.pragma('journal_size_limit = 67108864');
  db.pragma('cache_size = -32768');
  // Checkpoint every 64 MiB of WAL rather than SQLite's 4 MiB: 4 KiB writes at depth 16
  // went from 21k to 30k ops/s (3 runs each), 4 MiB writes and omap unchanged.
  db.pragma('wal_autocheckpoint = 16384');
  // Every operation runs in a SAVEPOINT (committer.ts), so each page it changes is first
  // copied to a sub-journal; on a temp file that was a write syscall per page past 64 KiB.
  // In memory, rewriting 64 MiB of data-file chunks (a trigger per row) took a third of the time.
  db.pragma('temp_store = MEMORY');
}

/** Opens an existing cluster database; ERR_CONF when there is none at `dataDir`. */
export function openClusterDb(dataDir: string): Db {
  const file = join(dataDir, DB_FILE);
  let db: Db;
  try {
    // The busy timeout lets several processes share the file: a writer waits for another's
    // short transaction instead of failing with SQLITE_BUSY.
    db = new Database(file, { fileMustExist: true, timeout: 30_000 });
  } catch (e) {
    throw err('ERR_CONF', `no embedded cluster in '${dataDir}': (2) No such file or directory`, { cause: e });
  }
  try {
    configure(db);
    if (metaGet(db, 'schema_version') === 1) upgradeFrom1(db);
    const version = metaGet(db, 'schema_version');
    if (version !== SCHEMA_VERSION) {
      throw err('ERR_CONF', `'${file}' is not an rbdm cluster store (schema ${String(version)}): (2) No such file or directory`);
    }
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** Version 1 stored every chunk inline: it gains the unit column, the free list and the triggers. */
function upgradeFrom1(db: Db): void {
  db.transaction(() => {
    // Another process may have upgraded since we looked (the IMMEDIATE lock orders us).
    if (metaGet(db, 'schema_version') !== 1) return;
    db.exec('ALTER TABLE chunks ADD COLUMN unit INTEGER;' + UNITS_SCHEMA);
    db.prepare("INSERT INTO meta (key, value) VALUES ('data_units', 0)").run();
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION);
  }).immediate();
}

export function metaGet(db: Db, key: string): unknown {
  try {
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: unknown } | undefined;
    return row?.value;
  } catch {
    // No meta table: not our database.
    return undefined;
  }
}

export interface CreateDbOptions {
  fsid: string;
  chunkSize: number;
  admin: { entity: string; key: string; caps: Record<string, string> };
}

/**
 * Builds the database under a temporary name, then links it into place, so a crash
 * mid-creation never leaves a half-made `store.db` and two creators cannot both win.
 */
export function createClusterDb(dataDir: string, opts: CreateDbOptions): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DB_FILE);
  if (existsSync(file)) {
    throw err('ERR_CLUSTER_EXISTS', `a cluster store already exists in '${dataDir}': (17) File exists`);
  }
  const tmp = join(dataDir, `${DB_FILE}.creating-${process.pid}`);
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) if (existsSync(f)) unlinkSync(f);
  const db = new Database(tmp);
  try {
    db.pragma(`page_size = ${PAGE_SIZE}`);
    configure(db);
    db.exec(SCHEMA);
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      put.run('schema_version', SCHEMA_VERSION);
      put.run('fsid', opts.fsid);
      put.run('chunk_size', opts.chunkSize);
      // Instance ids look like Ceph global ids (client.4123) and are never reused.
      put.run('last_instance', 4100);
      put.run('data_units', 0);
      db.prepare('INSERT INTO auth (entity, key, caps) VALUES (?, ?, ?)')
        .run(opts.admin.entity, opts.admin.key, JSON.stringify(opts.admin.caps));
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  try {
    linkSync(tmp, file);
  } catch (e) {
    unlinkSync(tmp);
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw err('ERR_CLUSTER_EXISTS', `a cluster store already exists in '${dataDir}': (17) File exists`);
    }
    throw e;
  }
  unlinkSync(tmp);
  const dfd = openSync(dataDir, 'r');
  fsyncSync(dfd);
  closeSync(dfd);
}
