/**
 * Reference figures of the REAL Ceph 16.2 `rbd-mirror` daemon, measured the way
 * test/bench/replay-bench.ts measures rbdm-mirror, so the two can be compared on one machine.
 * Two real single-host clusters (test/harness/ceph-clusters.ts: 1 mon, 1 mgr, 1 memstore OSD
 * each, cephx, loopback); journal-based pool mirroring of `image-pool` in one direction
 * (primary = local, the real `rbd-mirror` binary runs against `remote` as client.rbd-mirror.a,
 * peer `client.admin@local` with mon host and key in remote's config-key store). Only the
 * real `rbd`, `ceph` and `rbd-mirror` tools drive the clusters.
 *
 * - replay throughput (events/s, MiB/s): rbd-mirror stopped, a burst written on the primary
 *   (`rbd bench --io-threads 16`: 64 MiB of 4 KiB random, 256 MiB of 1 MiB sequential
 *   writes), rbd-mirror started; measured from the first change of the peer client's commit
 *   position on the primary journal to the moment it equals the image client's position
 *   (the primary's last entry), and also from the daemon's start;
 * - catch-up after a 256 MiB burst of 4 MiB writes (same way), with rbd-mirror's VmRSS
 *   sampled every 100 ms and its VmHWM at the end (/proc/PID/status);
 * - full sync of a 1 GiB image written end to end before rbd-mirror knew it: from the peer
 *   client's registration in the primary journal to its state `replaying` (MirrorPeerClientMeta
 *   in the client's data).
 *
 * How positions are read: a long-lived /usr/bin/python3 helper (python3-rados) reads the
 * `client_*` omap values of the primary's journal header `journal.<image id>` every 200 ms
 * (the same data `rbd journal status` prints, without a process start and a cluster
 * connection per poll); they are decoded here (cls::journal::Client). rbd-mirror writes its
 * commit position only every `rbd_mirror_journal_commit_age` (5 s by default), so these
 * times have a granularity of up to 5 s at both ends. The daemon's own per-image perf counter
 * (`rbd_mirror_image_<pool>/<image>`.replay, one increment per journal event applied), read
 * over its admin socket every 100 ms, gives a second, finer clock that is reported beside it.
 * Every replica is compared with its primary by md5 of `rbd export` (not timed). A plain-file
 * copy of the same pattern (16 threads, fdatasync at the end) is the same-run baseline.
 * While rbd-mirror replays or syncs, /tmp/rbd-mirror-ref.measuring exists.
 *
 * Run: `npx tsc -p . && node dist/test/bench/rbd-mirror-reference.js`
 * (RBD_MIRROR_REF_RUNS=N repeats the bursts N times, default 3; RBD_MIRROR_REF_FULLSYNC=0 skips
 * the full sync).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { exec, startCephClusters, type CephClusterInfo, type CephClusters, type Cmd } from '../harness/ceph-clusters.js';

const POOL = 'image-pool';
const M = 1024 * 1024;
const MEASURING_FLAG = '/tmp/rbd-mirror-ref.measuring';
const JOURNAL_POLL_MS = 200;
const PERF_POLL_MS = 100;
type Site = 'local' | 'remote';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.now();

// ---------------------------------------------------------------------------------------------
// Running the real tools

/** Tools get long timeouts here: `rbd bench` of 1 GiB, `rbd export`. */
const TOOL_TIMEOUT_MS = 600_000;
const runTool = (bin: string, args: string[]): Promise<Cmd> => exec(bin, args, TOOL_TIMEOUT_MS);

class Tools {
  constructor(private readonly clusters: Record<Site, CephClusterInfo>) {}

  private base(site: Site): string[] {
    return ['--cluster', site, '--conf', this.clusters[site].confPath];
  }

  async rbd(site: Site, args: string[]): Promise<string> {
    const r = await runTool('rbd', [...this.base(site), ...args]);
    if (r.code !== 0) throw new Error(`rbd --cluster ${site} ${args.join(' ')}: exit ${r.code}: ${r.err.trim()}`);
    return r.out;
  }

  async ceph(site: Site, args: string[]): Promise<string> {
    const r = await runTool('ceph', [...this.base(site), ...args]);
    if (r.code !== 0) throw new Error(`ceph --cluster ${site} ${args.join(' ')}: exit ${r.code}: ${r.err.trim()}`);
    return r.out;
  }

  async imageId(site: Site, image: string): Promise<string> {
    return (JSON.parse(await this.rbd(site, ['info', `${POOL}/${image}`, '--format', 'json'])) as { id: string }).id;
  }

  async benchWrite(image: string, write: string[]): Promise<void> {
    await this.rbd('local', ['bench', `${POOL}/${image}`, '--io-type', 'write', '--io-threads', '16', ...write]);
  }

  /** md5 of `rbd export POOL/IMAGE -`, streamed. */
  md5(site: Site, image: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = spawn('rbd', [...this.base(site), 'export', `${POOL}/${image}`, '-', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const h = createHash('md5');
      let err = '';
      c.stdout.on('data', (d: Buffer) => h.update(d));
      c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      c.on('error', reject);
      c.on('close', (code) => (code === 0 ? resolve(h.digest('hex')) : reject(new Error(`rbd export ${site} ${image}: exit ${code}: ${err}`))));
    });
  }

  async assertIdentical(image: string): Promise<string> {
    const [a, b] = [await this.md5('local', image), await this.md5('remote', image)];
    if (a !== b) throw new Error(`replica of ${image} differs from the primary (${a} vs ${b})`);
    return a;
  }
}

/** Pools, pool-mode mirroring with site names, the peer on remote, the daemon's user. */
async function setUpMirroring(t: Tools, clusters: Record<Site, CephClusterInfo>, dir: string): Promise<void> {
  for (const site of ['local', 'remote'] as const) {
    await t.ceph(site, ['osd', 'pool', 'create', POOL]);
    await t.rbd(site, ['pool', 'init', POOL]);
    await t.rbd(site, ['mirror', 'pool', 'enable', POOL, 'pool', '--site-name', site]);
  }
  const keyFile = join(dir, 'local.client.admin.key');
  writeFileSync(keyFile, (await t.ceph('local', ['auth', 'print-key', 'client.admin'])).trim(), { mode: 0o600 });
  const monHost = clusters.local.monAddr;
  await t.rbd('remote', ['mirror', 'pool', 'peer', 'add', POOL, 'client.admin@local', '--remote-mon-host', monHost, '--remote-key-file', keyFile]);
  // The remote conf's `keyring = <remote dir>/remote.$name.keyring` finds this file.
  await t.ceph('remote', ['auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd',
    '-o', join(clusters.remote.dataDir, 'remote.client.rbd-mirror.a.keyring')]);
}

// ---------------------------------------------------------------------------------------------
// The rbd-mirror daemon, its admin socket and /proc

/** One request on a Ceph admin socket: JSON + NUL; the answer is a u32 big-endian length + body. */
function adminSocket(path: string, prefix: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    const chunks: Buffer[] = [];
    s.on('connect', () => s.write(`${JSON.stringify({ prefix, format: 'json' })}\0`));
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) {
        s.end();
        try { resolve(JSON.parse(all.subarray(4, 4 + all.readUInt32BE(0)).toString())); } catch (e) { reject(e as Error); }
      }
    });
    s.on('error', reject);
  });
}

function procStatus(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

interface ImageReplayerStatus { name: string; state: string; }

class MirrorDaemon {
  private constructor(readonly child: ChildProcess, readonly pid: number, readonly asok: string, readonly started: number,
    private readonly exited: Promise<void>) {}

  /**
   * `rbd-mirror -f --cluster remote` in a directory holding `remote.conf` and `local.conf`:
   * its per-pool connections read `$cluster.conf` from the default search path (which
   * includes the working directory), not from --conf.
   */
  static async start(clusters: Record<Site, CephClusterInfo>, dir: string, n: number): Promise<MirrorDaemon> {
    const cwd = join(dir, 'rbd-mirror-cwd');
    if (!existsSync(cwd)) {
      mkdirSync(cwd);
      for (const site of ['local', 'remote'] as const) symlinkSync(clusters[site].confPath, join(cwd, `${site}.conf`));
    }
    const asok = join(dir, `rbd-mirror-${n}.asok`);
    const log = join(dir, `rbd-mirror-${n}.log`);
    const started = now();
    const child = spawn('rbd-mirror', ['-f', '--cluster', 'remote', '--conf', clusters.remote.confPath, '--id', 'rbd-mirror.a',
      '--admin-socket', asok, '--log-file', log], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (child.pid === undefined) throw new Error('rbd-mirror did not start');
    const d = new MirrorDaemon(child, child.pid, asok, started, exited);
    const deadline = Date.now() + 60_000;
    while (!(await d.poolRunning())) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await d.stop();
        throw new Error(`rbd-mirror did not come up: ${stderr}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : ''}`);
      }
      await sleep(100);
    }
    return d;
  }

  private async poolRunning(): Promise<boolean> {
    if (!existsSync(this.asok)) return false;
    try {
      const s = await this.status();
      return s.some((p) => p.state === 'running');
    } catch { return false; }
  }

  async status(): Promise<Array<{ state: string; image_replayers?: ImageReplayerStatus[] }>> {
    const s = (await adminSocket(this.asok, 'rbd mirror status')) as { pool_replayers?: Array<{ state: string; image_replayers?: ImageReplayerStatus[] }> };
    return s.pool_replayers ?? [];
  }

  async imageState(image: string): Promise<string | undefined> {
    const pools = await this.status().catch(() => []);
    return pools.flatMap((p) => p.image_replayers ?? []).find((r) => r.name === `${POOL}/${image}`)?.state;
  }

  /** Journal events this daemon applied to IMAGE so far (its per-image perf counter). */
  async replayedEvents(image: string): Promise<{ events: number; bytes: number }> {
    const perf = (await adminSocket(this.asok, 'perf dump')) as Record<string, { replay?: number; replay_bytes?: number }>;
    const c = perf[`rbd_mirror_image_${POOL}/${image}`];
    return { events: c?.replay ?? 0, bytes: c?.replay_bytes ?? 0 };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The primary journal's clients, read from the journal header's omap

interface Pos { tag: number; entry: number; }
interface JournalClient { id: string; pos: Pos; peerState?: 'syncing' | 'replaying'; }

/** Ceph's little-endian encoding: ENCODE_START blocks, strings and bufferlists as u32 length + bytes. */
class Decoder {
  private off = 0;
  constructor(private readonly b: Buffer) {}
  u8(): number { return this.b.readUInt8(this.off++); }
  u32(): number { const v = this.b.readUInt32LE(this.off); this.off += 4; return v; }
  u64(): number { const v = Number(this.b.readBigUInt64LE(this.off)); this.off += 8; return v; }
  bytes(): Buffer { const n = this.u32(); const v = this.b.subarray(this.off, this.off + n); this.off += n; return v; }
  str(): string { return this.bytes().toString(); }
  struct<T>(body: (d: Decoder) => T): T {
    this.u8(); // struct_v
    this.u8(); // compat
    const len = this.u32();
    const end = this.off + len;
    const v = body(this);
    this.off = end;
    return v;
  }
  list<T>(item: (d: Decoder) => T): T[] { return Array.from({ length: this.u32() }, () => item(this)); }
}

/** librbd::journal::ClientData holding a MirrorPeerClientMeta (type 1): its state (0 syncing, 1 replaying). */
function mirrorPeerState(data: Buffer): 'syncing' | 'replaying' | undefined {
  if (data.length < 10) return undefined;
  return new Decoder(data).struct((d) => {
    if (d.u32() !== 1) return undefined;
    d.str(); // image id
    return d.u32() === 1 ? 'replaying' : 'syncing';
  });
}

/** cls::journal::Client: id, data, commit position (newest object position first), state. */
function decodeJournalClient(value: Buffer): JournalClient {
  return new Decoder(value).struct((d) => {
    const id = d.str();
    const data = Buffer.from(d.bytes());
    const positions = d.struct((p) => p.list((o) => o.struct((x) => ({ object: x.u64(), tag: x.u64(), entry: x.u64() }))));
    const newest = positions[0];
    const peerState = id === '' ? undefined : mirrorPeerState(data);
    return { id, pos: { tag: newest?.tag ?? -1, entry: newest?.entry ?? -1 }, ...(peerState ? { peerState } : {}) };
  });
}

const PY_OMAP_READER = `
import sys, json, rados
c = rados.Rados(conffile=sys.argv[1], name='client.admin')
c.connect()
io = c.open_ioctx(sys.argv[2])
for line in sys.stdin:
    try:
        with rados.ReadOpCtx() as op:
            it, ret = io.get_omap_vals(op, "", "client_", 64)
            io.operate_read_op(op, line.strip())
            out = {k: v.hex() for k, v in it}
    except Exception as e:
        out = {"error": str(e)}
    print(json.dumps(out), flush=True)
`;

/** A persistent python3-rados process on the primary cluster answering one omap read per line. */
class JournalReader {
  private readonly child: ChildProcess;
  private readonly waiting: Array<(line: string) => void> = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(local: CephClusterInfo) {
    // /usr/bin/python3: python3-rados exists only for the system python (a pyenv one may shadow it).
    this.child = spawn('/usr/bin/python3', ['-c', PY_OMAP_READER, local.confPath, POOL], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.waiting.shift()?.(l));
  }

  /** The primary journal's clients: the image's own (id '') and the mirror peer's. */
  clients(imageId: string): Promise<{ image?: JournalClient; peer?: JournalClient }> {
    const next = this.queue.then(() => new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write(`journal.${imageId}\n`);
    })).then((line) => {
      const vals = JSON.parse(line) as Record<string, string>;
      if (vals.error !== undefined) throw new Error(`omap read of journal.${imageId}: ${vals.error}`);
      const out: { image?: JournalClient; peer?: JournalClient } = {};
      for (const hex of Object.values(vals)) {
        const c = decodeJournalClient(Buffer.from(hex, 'hex'));
        if (c.id === '') out.image = c;
        else out.peer = c;
      }
      return out;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Cross-check of the decoding with the real CLI: `rbd journal status --format json`. */
async function journalStatusPositions(t: Tools, image: string): Promise<Record<string, Pos>> {
  const j = JSON.parse(await t.rbd('local', ['journal', 'status', '--pool', POOL, '--image', image, '--format', 'json'])) as {
    registered_clients: Array<{ id: string; commit_position: { object_positions: Array<{ tag_tid: number; entry_tid: number }> } }>;
  };
  const out: Record<string, Pos> = {};
  for (const c of j.registered_clients) {
    const p = c.commit_position.object_positions[0];
    out[c.id === '' ? 'image' : 'peer'] = { tag: p?.tag_tid ?? -1, entry: p?.entry_tid ?? -1 };
  }
  return out;
}

const samePos = (a: Pos, b: Pos): boolean => a.tag === b.tag && a.entry === b.entry;

// ---------------------------------------------------------------------------------------------
// Measurements

function markMeasuring(on: boolean): void {
  if (on) writeFileSync(MEASURING_FLAG, `${process.pid}\n`);
  else rmSync(MEASURING_FLAG, { force: true });
}

interface BurstResult {
  entries: number;
  perfEvents: number;
  perfBytes: number;
  /** Peer commit position: first change → equal to the primary's last entry. */
  secsFromFirstCommit: number;
  secsFromStart: number;
  /** Perf counter: first applied event → all events applied. */
  secsFromFirstEvent: number;
  perfSecsFromStart: number;
  commitChanges: number;
  commitIntervals: number[];
  maxRss: number;
  hwm: number;
}

interface Ctx {
  tools: Tools;
  journal: JournalReader;
  clusters: Record<Site, CephClusterInfo>;
  dir: string;
  daemons: number;
}

/** Polls the daemon's perf counter and RSS until stopped; records the first and last change times. */
function watchDaemon(d: MirrorDaemon, image: string, baseline: number, target: () => number | undefined) {
  const w = { first: 0, reached: 0, last: baseline, bytes: 0, maxRss: 0, stop: false };
  const loop = (async () => {
    while (!w.stop) {
      w.maxRss = Math.max(w.maxRss, procStatus(d.pid).rss);
      const r = await d.replayedEvents(image).catch(() => undefined);
      if (r) {
        if (!w.first && r.events > baseline) w.first = now();
        if (r.events !== w.last) { w.last = r.events; w.bytes = r.bytes; }
        const t = target();
        if (!w.reached && t !== undefined && r.events - baseline >= t) w.reached = now();
      }
      await sleep(PERF_POLL_MS);
    }
  })();
  return { w, done: async () => { w.stop = true; await loop; } };
}

/**
 * Replays a burst written while the daemon was down (as replay-bench.ts's replayBurst):
 * events are journal entries (writes split at 16 KiB payload).
 */
async function replayBurst(ctx: Ctx, image: string, imageId: string, write: string[]): Promise<BurstResult> {
  await ctx.tools.benchWrite(image, write);
  const before = await ctx.journal.clients(imageId);
  const target = before.image!.pos;
  const from = before.peer!.pos;
  const entries = from.tag === target.tag ? target.entry - from.entry : target.entry + 1;
  markMeasuring(true);
  let d: MirrorDaemon | undefined;
  try {
    d = await MirrorDaemon.start(ctx.clusters, ctx.dir, ctx.daemons++);
    const perf = watchDaemon(d, image, 0, () => entries);
    let first = 0;
    const changes: number[] = [];
    let p = from;
    const deadline = Date.now() + 600_000;
    for (;;) {
      const peer = (await ctx.journal.clients(imageId)).peer!.pos;
      if (!samePos(peer, p)) { changes.push(now()); p = peer; if (!first) first = now(); }
      if (samePos(p, target)) break;
      if (Date.now() > deadline) throw new Error(`catch-up timed out: peer at ${JSON.stringify(p)}, from ${JSON.stringify(from)}, target ${JSON.stringify(target)}`);
      await sleep(JOURNAL_POLL_MS);
    }
    const done = now();
    // The counter may still be short if an event was committed before the counter was read.
    while (!perf.w.reached && now() - done < 5_000) await sleep(PERF_POLL_MS);
    await perf.done();
    const hwm = procStatus(d.pid).hwm;
    return {
      entries, perfEvents: perf.w.last, perfBytes: perf.w.bytes,
      secsFromFirstCommit: (done - first) / 1000, secsFromStart: (done - d.started) / 1000,
      secsFromFirstEvent: ((perf.w.reached || done) - perf.w.first) / 1000, perfSecsFromStart: ((perf.w.reached || done) - d.started) / 1000,
      commitChanges: changes.length, commitIntervals: changes.slice(1).map((c, i) => (c - changes[i]!) / 1000),
      maxRss: perf.w.maxRss, hwm,
    };
  } finally {
    markMeasuring(false);
    await d?.stop();
  }
}

interface FullSyncResult { secsFromRegistration: number; secsFromStart: number; replayerReplayingSecsFromStart: number; maxRss: number; hwm: number; }

/** Full sync of an image written end to end before rbd-mirror knew it. */
async function fullSync(ctx: Ctx, image: string): Promise<FullSyncResult> {
  await ctx.tools.rbd('local', ['create', `${POOL}/${image}`, '--size', '1G', '--image-feature', 'exclusive-lock,journaling']);
  await ctx.tools.benchWrite(image, ['--io-size', '4M', '--io-total', '1G', '--io-pattern', 'seq']);
  const id = await ctx.tools.imageId('local', image);
  markMeasuring(true);
  let d: MirrorDaemon | undefined;
  try {
    d = await MirrorDaemon.start(ctx.clusters, ctx.dir, ctx.daemons++);
    let registered = 0, replayerReplaying = 0, maxRss = 0;
    const deadline = Date.now() + 900_000;
    for (;;) {
      maxRss = Math.max(maxRss, procStatus(d.pid).rss);
      const peer = (await ctx.journal.clients(id)).peer;
      if (peer && !registered) registered = now();
      if (!replayerReplaying && (await d.imageState(image)) === 'Replaying') replayerReplaying = now();
      if (peer?.peerState === 'replaying') break;
      if (Date.now() > deadline) throw new Error(`full sync timed out: peer ${JSON.stringify(peer)}`);
      await sleep(JOURNAL_POLL_MS);
    }
    const done = now();
    const hwm = procStatus(d.pid).hwm;
    return {
      secsFromRegistration: (done - registered) / 1000, secsFromStart: (done - d.started) / 1000,
      replayerReplayingSecsFromStart: replayerReplaying ? (replayerReplaying - d.started) / 1000 : NaN, maxRss, hwm,
    };
  } finally {
    markMeasuring(false);
    await d?.stop();
  }
}

/** Same-run baseline: the same bytes copied with plain file I/O (same pattern, 16 in flight, fdatasync). */
async function plainCopyMiBs(dir: string, ioSize: number, total: number, pattern: 'rand' | 'seq'): Promise<number> {
  const src = join(dir, 'plain-src.img');
  const dst = join(dir, 'plain-dst.img');
  const span = 1024 * M;
  const ops = Math.floor(total / ioSize);
  const offsets = Array.from({ length: ops }, (_, i) => (pattern === 'seq' ? (i * ioSize) % span : Math.floor(Math.random() * (span / ioSize)) * ioSize));
  const sfh = await open(src, 'w+');
  const fill = Buffer.alloc(ioSize, 7);
  for (const o of offsets) await sfh.write(fill, 0, ioSize, o);
  await sfh.sync();
  const dfh = await open(dst, 'w+');
  const t0 = now();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    const buf = Buffer.alloc(ioSize);
    for (let i = next++; i < ops; i = next++) {
      await sfh.read(buf, 0, ioSize, offsets[i]!);
      await dfh.write(buf, 0, ioSize, offsets[i]!);
    }
  }));
  await dfh.datasync();
  const secs = (now() - t0) / 1000;
  await sfh.close();
  await dfh.close();
  rmSync(src, { force: true });
  rmSync(dst, { force: true });
  return total / M / secs;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Row { name: string; value: number; unit: string; baseline?: { name: string; value: number }; }

const BURSTS = [
  { key: 'A', name: '4 KiB random, 64 MiB', write: ['--io-size', '4K', '--io-total', '64M', '--io-pattern', 'rand'], ioSize: 4096, total: 64 * M, pattern: 'rand' as const },
  { key: 'B', name: '1 MiB sequential, 256 MiB', write: ['--io-size', '1M', '--io-total', '256M', '--io-pattern', 'seq'], ioSize: M, total: 256 * M, pattern: 'seq' as const },
  { key: 'C', name: 'catch-up, 4 MiB sequential, 256 MiB', write: ['--io-size', '4M', '--io-total', '256M', '--io-pattern', 'seq'], ioSize: 4 * M, total: 256 * M, pattern: 'seq' as const },
];

function burstRows(run: number, b: (typeof BURSTS)[number], r: BurstResult, plain: number): Row[] {
  const mib = b.total / M;
  const label = `run ${run}, burst ${b.key} (${b.name})`;
  const plainEvs = (plain * M) / Math.min(b.ioSize, 16384);
  const median = [...r.commitIntervals].sort((x, y) => x - y)[Math.floor(r.commitIntervals.length / 2)] ?? NaN;
  const rows: Row[] = [
    { name: `${label}: events/s, commit positions, 5 s granularity (${r.entries} journal entries)`, value: r.entries / r.secsFromFirstCommit, unit: 'events/s', baseline: { name: 'plain file copy, 16 KiB units', value: plainEvs } },
    { name: `${label}: MiB/s, commit positions, 5 s granularity`, value: mib / r.secsFromFirstCommit, unit: 'MiB/s', baseline: { name: 'plain file copy', value: plain } },
    { name: `${label}: seconds, first commit-position change → last entry`, value: r.secsFromFirstCommit, unit: 's', baseline: { name: 'plain file copy', value: mib / plain } },
    { name: `${label}: seconds, rbd-mirror start → last entry committed`, value: r.secsFromStart, unit: 's' },
    { name: `${label}: events/s, perf counter (${r.perfEvents} events applied, ${(r.perfBytes / M).toFixed(1)} MiB replay_bytes)`, value: r.perfEvents / r.secsFromFirstEvent, unit: 'events/s', baseline: { name: 'plain file copy, 16 KiB units', value: plainEvs } },
    { name: `${label}: MiB/s, perf counter (first → last event applied)`, value: mib / r.secsFromFirstEvent, unit: 'MiB/s', baseline: { name: 'plain file copy', value: plain } },
    { name: `${label}: seconds, rbd-mirror start → last event applied (perf counter)`, value: r.perfSecsFromStart, unit: 's' },
    { name: `${label}: peer commit-position updates seen (median interval ${median.toFixed(1)} s)`, value: r.commitChanges, unit: 'updates' },
  ];
  if (b.key === 'C') {
    rows.push({ name: `${label}: rbd-mirror VmRSS while replaying (max of 100 ms samples)`, value: r.maxRss / M, unit: 'MiB' });
    rows.push({ name: `${label}: rbd-mirror VmHWM at the end`, value: r.hwm / M, unit: 'MiB' });
  }
  return rows;
}

function printTable(rows: Row[], notes: string[]): void {
  process.stdout.write('\n| measurement | rbd-mirror 16.2 | baseline | baseline value |\n|---|---|---|---|\n');
  for (const r of rows) {
    const b = r.baseline ? `| ${r.baseline.name} | ${r.baseline.value.toFixed(1)} |` : '| | |';
    process.stdout.write(`| ${r.name} | ${r.value.toFixed(1)} ${r.unit} ${b}\n`);
  }
  process.stdout.write(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
}

async function bootstrap(ctx: Ctx, image: string): Promise<{ id: string; idleRss: number; secs: number }> {
  await ctx.tools.rbd('local', ['create', `${POOL}/${image}`, '--size', '1G', '--image-feature', 'exclusive-lock,journaling']);
  const id = await ctx.tools.imageId('local', image);
  const d = await MirrorDaemon.start(ctx.clusters, ctx.dir, ctx.daemons++);
  try {
    const deadline = Date.now() + 180_000;
    while (!((await ctx.journal.clients(id)).peer?.peerState === 'replaying' && (await d.imageState(image)) === 'Replaying')) {
      if (Date.now() > deadline) throw new Error('bootstrap of the replay image timed out');
      await sleep(200);
    }
    const secs = (now() - d.started) / 1000;
    await sleep(2000);
    return { id, idleRss: procStatus(d.pid).rss, secs };
  } finally {
    await d.stop();
  }
}

async function main(): Promise<void> {
  const runs = Number(process.env.RBD_MIRROR_REF_RUNS ?? 3);
  const withFullSync = process.env.RBD_MIRROR_REF_FULLSYNC !== '0';
  const log = (s: string): void => { process.stdout.write(`# ${new Date().toISOString().slice(11, 19)} ${s}\n`); };
  const dir = mkdtempSync(join(tmpdir(), 'rbd-mirror-ref-'));
  let ceph: CephClusters | undefined;
  let journal: JournalReader | undefined;
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    log('starting two Ceph clusters');
    ceph = await startCephClusters({ names: ['local', 'remote'] });
    const clusters = { local: ceph.clusters.local!, remote: ceph.clusters.remote! };
    const tools = new Tools(clusters);
    await setUpMirroring(tools, clusters, dir);
    journal = new JournalReader(clusters.local);
    const ctx: Ctx = { tools, journal, clusters, dir, daemons: 0 };
    notes.push(`versions: ${(await runTool('rbd-mirror', ['--version'])).out.trim()}; ${(await runTool('ceph', ['--version'])).out.trim()}`);

    log('bootstrap of image replay');
    const boot = await bootstrap(ctx, 'replay');
    rows.push({ name: 'bootstrap of an empty 1 GiB image: rbd-mirror start → peer replaying', value: boot.secs, unit: 's' });
    rows.push({ name: 'rbd-mirror VmRSS idle (one image replaying, nothing to apply)', value: boot.idleRss / M, unit: 'MiB' });

    const plain = new Map<string, number>();
    for (let run = 1; run <= runs; run++) {
      for (const b of BURSTS) {
        if (!plain.has(b.key)) plain.set(b.key, await plainCopyMiBs(dir, b.ioSize, b.total, b.pattern));
        log(`run ${run}: burst ${b.key} (${b.name})`);
        const r = await replayBurst(ctx, 'replay', boot.id, b.write);
        const cli = await journalStatusPositions(tools, 'replay');
        if (!cli.peer || !cli.image || !samePos(cli.peer, cli.image)) throw new Error(`rbd journal status disagrees: ${JSON.stringify(cli)}`);
        const md5 = await tools.assertIdentical('replay');
        log(`  ${r.entries} entries (perf counter ${r.perfEvents}), ${r.secsFromFirstCommit.toFixed(1)} s by commit positions, ${r.secsFromFirstEvent.toFixed(1)} s by perf counter; md5 ${md5} on both`);
        rows.push(...burstRows(run, b, r, plain.get(b.key)!));
      }
      if (run === 1 && withFullSync) {
        log('full sync of image full (1 GiB)');
        const plain1g = await plainCopyMiBs(dir, 4 * M, 1024 * M, 'seq');
        const f = await fullSync(ctx, 'full');
        const md5 = await tools.assertIdentical('full');
        log(`  ${f.secsFromRegistration.toFixed(1)} s from registration; md5 ${md5} on both`);
        rows.push({ name: 'full sync of a 1 GiB image (written end to end): MiB/s, peer registration → replaying', value: 1024 / f.secsFromRegistration, unit: 'MiB/s', baseline: { name: 'plain file copy of 1 GiB', value: plain1g } });
        rows.push({ name: 'full sync: seconds, peer registration → replaying', value: f.secsFromRegistration, unit: 's', baseline: { name: 'plain file copy of 1 GiB', value: 1024 / plain1g } });
        rows.push({ name: 'full sync: seconds, rbd-mirror start → replaying', value: f.secsFromStart, unit: 's' });
        rows.push({ name: 'full sync: seconds, rbd-mirror start → admin socket image replayer "Replaying"', value: f.replayerReplayingSecsFromStart, unit: 's' });
        rows.push({ name: 'full sync: rbd-mirror VmRSS max / VmHWM', value: f.maxRss / M, unit: `MiB / ${(f.hwm / M).toFixed(1)} MiB` });
      }
    }
    notes.push(`journal positions read from the omap of journal.<id> every ${JOURNAL_POLL_MS} ms; perf counter and VmRSS every ${PERF_POLL_MS} ms`);
    notes.push('rbd-mirror writes its peer commit position every rbd_mirror_journal_commit_age (default 5 s): the commit-position times are that coarse');
  } finally {
    markMeasuring(false);
    await journal?.close();
    await ceph?.stop();
    rmSync(dir, { recursive: true, force: true });
    printTable(rows, notes);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
