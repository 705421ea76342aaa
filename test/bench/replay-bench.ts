/**
 * The mirror daemon's figures (issue 6), on two embedded clusters set up as the seed, with a
 * real `rbdm-mirror` on `remote`, each beside a same-run baseline of plain file I/O:
 *
 * - replay throughput (events/s, MiB/s): the daemon stopped, a burst written on the primary
 *   (`rbdm bench`), the daemon started; measured from its first commit on the primary
 *   journal to its last (the peer client's commit position, read from the journal header),
 *   for 4 KiB random and 1 MiB sequential writes with 1 and 2 piscina workers;
 * - catch-up after a 256 MiB burst (same way; also from the daemon's start) and the daemon's
 *   VmRSS/VmHWM (/proc) while it replays;
 * - full sync of a 1 GiB image written end to end (from the peer client's registration to
 *   its `replaying` state);
 * - replication lag p50/p99 under steady writes: a writer in this process stamps a sequence
 *   number into each 4 KiB block; a poller reads the replica's data object straight from
 *   the store; lag = seen on the replica − acknowledged on the primary;
 * - the notify's cost on the write path: journaled 4 KiB writes with `journal_notify_updates`
 *   on and off while a watcher listens.
 * Every replica is compared with its primary by md5 of `rbdm export` (not timed).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster } from '../../host/cluster/connect.js';
import type { Cluster } from '../../host/index.js';
import { Host } from '../../host/runtime/host.js';
import { ImageLibrary } from '../../modules/rbd/images-service.js';
import { RBDM_MIRROR_ARGV, TestClusters } from '../harness/cli.js';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number };
}

const POOL = 'image-pool';
const M = 1024 * 1024;

type Site = 'local' | 'remote';

class Bench {
  readonly c = new TestClusters('rbdm-replay-bench-');
  readonly env: NodeJS.ProcessEnv = { ...this.c.env, RBDM_VALIDATE_RESULTS: '0' };
  private local: Cluster | undefined;

  async rbdm(site: Site, args: string[], timeoutMs = 600_000): Promise<string> {
    const r = await this.c.rbdm(['--cluster', site, ...args], { env: this.env, timeoutMs });
    if (r.code !== 0) throw new Error(`rbdm --cluster ${site} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  async setUp(): Promise<void> {
    await this.c.create('local');
    await this.c.create('remote');
    for (const s of ['local', 'remote'] as const) await this.rbdm(s, ['pool', 'create', POOL]);
    for (const [me, other] of [['local', 'remote'], ['remote', 'local']] as const) {
      await this.rbdm(me, ['mirror', 'pool', 'enable', POOL, 'pool']);
      await this.rbdm(other, ['auth', 'get-or-create', `client.${other}`, 'mon', 'profile rbd', 'osd', 'profile rbd', '-o', join(this.c.dir, `${other}.client.${other}.keyring`)]);
      await this.rbdm(me, ['mirror', 'pool', 'peer', 'add', POOL, `client.${other}@${other}`]);
    }
    await this.rbdm('remote', ['auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd', '-o', join(this.c.dir, 'remote.client.rbd-mirror.a.keyring')]);
    this.local = await connectCluster({ clusterName: 'local', entity: 'client.admin', env: this.env });
  }

  async tearDown(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    await this.local?.shutdown();
    this.c.cleanup();
  }

  private daemons = 0;

  lastLog = '';
  readonly children = new Set<ChildProcess>();

  async startDaemon(workers: number): Promise<{ child: ChildProcess; started: number; stop(): Promise<void> }> {
    const log = join(this.c.dir, `mirror-${this.daemons++}.log`);
    this.lastLog = log;
    const started = performance.now();
    const prof = process.env.RBDM_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RBDM_BENCH_PROFILE_DIR}`] : [];
    // Experiments: more node flags for the daemon (e.g. --trace-gc); its stdout is kept in the
    // profile directory (or the temporary directory).
    const extra = (process.env.RBDM_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const stdout = extra.length ? openSync(join(process.env.RBDM_BENCH_PROFILE_DIR ?? tmpdir(), `rbdm-mirror-${this.daemons}.stdout`), 'w') : 'ignore';
    const child = spawn(process.execPath, [...prof, ...RBDM_MIRROR_ARGV.slice(0, -1), ...extra, ...RBDM_MIRROR_ARGV.slice(-1), '-f', '--cluster', 'remote', '--id', 'rbd-mirror.a', `--log-file=${log}`,
      '--admin-socket', join(this.c.dir, `mirror-${this.daemons}.asok`)], {
      env: { ...process.env, ...this.env, RBDM_WORKER_THREADS: String(workers) }, stdio: ['ignore', stdout, 'pipe'],
    });
    if (typeof stdout === 'number') closeSync(stdout);
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await until('daemon start', () => existsSync(log) && readFileSync(log, 'utf8').includes('replaying pool'), 60_000).catch((e: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${e.message}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : '(no log)'}\n${stderr}`);
    });
    return { child, started, stop: async () => { child.kill('SIGTERM'); await exited; } };
  }

  async imageId(site: Site, image: string): Promise<{ id: string; prefix: string }> {
    const j = JSON.parse(await this.rbdm(site, ['info', `${POOL}/${image}`, '--format', 'json'])) as { id: string; block_name_prefix: string };
    return { id: j.id, prefix: j.block_name_prefix };
  }

  /** The primary journal's clients: the image's own ('') and the daemon's (peer). */
  async clients(imageId: string): Promise<{ image?: Pos; peer?: Pos & { state?: string } }> {
    const io = await this.local!.ioctx(POOL);
    try {
      const page = await io.omapGetVals(`journal.${imageId}`, { prefix: 'client_', max: 64 });
      const out: { image?: Pos; peer?: Pos & { state?: string } } = {};
      for (const v of page.entries.values()) {
        const j = JSON.parse(v.toString()) as { id: string; data: { state?: string }; commit_position: { object_positions: Array<{ tag_tid: number; entry_tid: number }> } };
        const p = j.commit_position.object_positions[0];
        const pos: Pos = { tag: p?.tag_tid ?? -1, entry: p?.entry_tid ?? -1 };
        if (j.id === '') out.image = pos;
        else out.peer = { ...pos, ...(j.data?.state !== undefined ? { state: j.data.state } : {}) };
      }
      return out;
    } finally {
      await io.close();
    }
  }

  async md5(site: Site, image: string): Promise<string> {
    const file = join(this.c.dir, `${site}-${image}-${Date.now()}.img`);
    await this.rbdm(site, ['export', `${POOL}/${image}`, file, '--no-progress']);
    const h = createHash('md5');
    const fh = await open(file);
    for await (const chunk of fh.createReadStream()) h.update(chunk as Buffer);
    rmSync(file, { force: true });
    return h.digest('hex');
  }

  async identical(image: string): Promise<void> {
    const [a, b] = [await this.md5('local', image), await this.md5('remote', image)];
    if (a !== b) throw new Error(`replica of ${image} differs from the primary (${a} vs ${b})`);
  }
}

interface Pos {
  tag: number;
  entry: number;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number, every = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

function vm(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/**
 * Replays a burst written while the daemon was down. Events/s counts journal entries
 * (writes split at 16 KiB, as Ceph's); the clock runs from the daemon's first commit.
 */
async function replayBurst(b: Bench, image: string, imageId: string, workers: number, write: string[]): Promise<{
  entries: number; secsFromFirst: number; secsFromStart: number; maxRss: number; hwm: number;
}> {
  await b.rbdm('local', ['bench', `${POOL}/${image}`, '--io-type', 'write', '--io-threads', '16', ...write]);
  const before = await b.clients(imageId);
  const target = before.image!;
  const from = before.peer!;
  const d = await b.startDaemon(workers);
  let first = 0;
  let maxRss = 0;
  const sampler = setInterval(() => { maxRss = Math.max(maxRss, vm(d.child.pid!).rss); }, 50);
  let p: Pos = from;
  try {
    await until('catch-up', async () => {
      p = (await b.clients(imageId)).peer!;
      if (!first && (p.tag !== from.tag || p.entry !== from.entry)) first = performance.now();
      return p.tag === target.tag && p.entry === target.entry;
    }, 180_000, 10);
  } catch (e) {
    throw new Error(`${(e as Error).message}: peer at ${JSON.stringify(p)}, from ${JSON.stringify(from)}, target ${JSON.stringify(target)}\n${readFileSync(b.lastLog, 'utf8').slice(-3000)}`);
  } finally {
    clearInterval(sampler);
  }
  const done = performance.now();
  const hwm = vm(d.child.pid!).hwm;
  await d.stop();
  const entries = from.tag === target.tag ? target.entry - from.entry : target.entry + 1;
  return { entries, secsFromFirst: (done - first) / 1000, secsFromStart: (done - d.started) / 1000, maxRss, hwm };
}

/** The baseline: the same bytes copied with plain file I/O (same pattern, fdatasync at the end). */
async function plainCopy(dir: string, ioSize: number, total: number, pattern: 'rand' | 'seq'): Promise<number> {
  const src = join(dir, 'plain-src.img');
  const dst = join(dir, 'plain-dst.img');
  const span = 1024 * M;
  const sfh = await open(src, 'w+');
  const buf = Buffer.alloc(ioSize, 7);
  const ops = Math.floor(total / ioSize);
  const offs = Array.from({ length: ops }, (_, i) => (pattern === 'seq' ? (i * ioSize) % span : Math.floor(Math.random() * (span / ioSize)) * ioSize));
  for (const o of offs) await sfh.write(buf, 0, ioSize, o);
  await sfh.sync();
  const dfh = await open(dst, 'w+');
  const t0 = performance.now();
  let next = 0;
  const rbuf = Buffer.alloc(ioSize);
  await Promise.all(Array.from({ length: 16 }, async () => {
    const mine = Buffer.alloc(ioSize);
    for (;;) {
      const i = next++;
      if (i >= ops) return;
      await sfh.read(mine, 0, ioSize, offs[i]!);
      await dfh.write(mine, 0, ioSize, offs[i]!);
    }
  }));
  await dfh.datasync();
  const secs = (performance.now() - t0) / 1000;
  void rbuf;
  await sfh.close();
  await dfh.close();
  rmSync(src, { force: true });
  rmSync(dst, { force: true });
  return total / M / secs;
}

/** Replication lag under steady writes; the baseline is a 4 KiB write + fdatasync to a plain file. */
async function lag(b: Bench, rows: BenchRow[]): Promise<void> {
  const image = 'lag';
  await b.rbdm('local', ['create', `${POOL}/${image}`, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']);
  const d = await b.startDaemon(2);
  const host = new Host({ clusterName: 'local', entity: 'client.admin', env: b.env });
  await host.init();
  await host.loadModules();
  const lib = new ImageLibrary({ conf: { get: () => undefined }, lockWaitTimeoutMs: 10_000 });
  const cluster = await host.cluster();
  const img = await lib.openImage(cluster, POOL, image);
  const remote = await connectCluster({ clusterName: 'remote', entity: 'client.admin', env: b.env });
  const rio = await remote.ioctx(POOL);
  try {
    await img.write(0, Buffer.alloc(4096, 1));
    await until('replica', async () => (await b.rbdm('remote', ['ls', POOL])).includes(image), 60_000, 200);
    const { prefix } = await b.imageId('remote', image);
    const oid = `${prefix}.${'0'.padStart(16, '0')}`;
    const slots = 1024;
    const writes = 400;
    const acked: number[] = [];
    const seen: number[] = [];
    let stop = false;
    const poller = (async () => {
      let next = 0;
      while (!stop && next < writes) {
        if (acked[next] === undefined) {
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        const got = await rio.read(oid, (next % slots) * 4096, 8).catch(() => Buffer.alloc(0));
        if (got.length === 8 && Number(got.readBigUInt64LE(0)) === next + 1) {
          seen[next] = performance.now();
          next++;
        } else {
          await new Promise((r) => setTimeout(r, 2));
        }
      }
    })();
    // Steady: one 4 KiB write every 10 ms (100/s), each stamped with its sequence number.
    const t0 = performance.now();
    for (let i = 0; i < writes; i++) {
      const wait = t0 + i * 10 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const blk = Buffer.alloc(4096, i & 0xff);
      blk.writeBigUInt64LE(BigInt(i + 1), 0);
      await img.write((i % slots) * 4096, blk);
      acked[i] = performance.now();
    }
    await until('last write on the replica', () => seen[writes - 1] !== undefined, 120_000);
    stop = true;
    await poller;
    const lags = acked.map((a, i) => seen[i]! - a).sort((x, y) => x - y);
    const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]!;
    const file = await plainSyncLatencies(b.c.dir, 200);
    rows.push({ name: 'replication lag p50, 4 KiB writes at 100/s (ack on primary → readable on replica)', value: pct(0.5), unit: 'ms', baseline: { name: 'plain file 4 KiB write + fdatasync p50', value: file.p50 } });
    rows.push({ name: 'replication lag p99, same run', value: pct(0.99), unit: 'ms', baseline: { name: 'plain file 4 KiB write + fdatasync p99', value: file.p99 } });
  } finally {
    await img.close();
    await host.shutdown();
    await rio.close();
    await remote.shutdown();
    await d.stop();
  }
  await b.identical(image);
}

async function plainSyncLatencies(dir: string, n: number): Promise<{ p50: number; p99: number }> {
  const fh = await open(join(dir, 'lat.img'), 'w+');
  const buf = Buffer.alloc(4096, 3);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fh.write(buf, 0, 4096, (i % 1024) * 4096);
    await fh.datasync();
    out.push(performance.now() - t0);
  }
  await fh.close();
  rmSync(join(dir, 'lat.img'), { force: true });
  out.sort((a, b) => a - b);
  return { p50: out[Math.floor(n / 2)]!, p99: out[Math.floor(n * 0.99)]! };
}

/** Journaled 4 KiB writes with the update notify on and off while something watches the journal. */
async function notifyCost(b: Bench, rows: BenchRow[]): Promise<void> {
  const image = 'notify';
  await b.rbdm('local', ['create', `${POOL}/${image}`, '--size', '1G', '--image-feature', 'exclusive-lock,journaling']);
  const { id } = await b.imageId('local', image);
  const cluster = await connectCluster({ clusterName: 'local', entity: 'client.admin', env: b.env });
  const io = await cluster.ioctx(POOL);
  let heard = 0;
  const w = await io.watch(`journal.${id}`, () => { heard++; });
  const ops = async () => Number(/ops\/sec: ([\d.]+)/.exec(await b.rbdm('local', ['bench', `${POOL}/${image}`, '--io-type', 'write', '--io-size', '4K', '--io-threads', '16', '--io-total', '16M', '--io-pattern', 'rand']))?.[1]);
  try {
    await b.rbdm('local', ['mgr', 'config', 'set', 'journaling/journal_notify_updates', 'false']);
    const off1 = await ops();
    await b.rbdm('local', ['mgr', 'config', 'set', 'journaling/journal_notify_updates', 'true']);
    const on1 = await ops();
    await b.rbdm('local', ['mgr', 'config', 'set', 'journaling/journal_notify_updates', 'false']);
    const off2 = await ops();
    await b.rbdm('local', ['mgr', 'config', 'set', 'journaling/journal_notify_updates', 'true']);
    const on2 = await ops();
    rows.push({ name: `journaled 4 KiB random writes, notify on (a watcher heard ${heard} notifies)`, value: (on1 + on2) / 2, unit: 'ops/s', baseline: { name: 'same, journal_notify_updates false', value: (off1 + off2) / 2 } });
  } finally {
    await w.close();
    await io.close();
    await cluster.shutdown();
    // Delete the image so the daemon never bootstraps it.
    await b.rbdm('local', ['rm', `${POOL}/${image}`, '--no-progress']).catch(() => b.rbdm('local', ['rm', `${POOL}/${image}`]));
  }
}

/**
 * `RBDM_BENCH_ONLY=replay,catchup` runs some sections only (notify, replay, catchup,
 * fullsync, lag); for profiling add `RBDM_BENCH_PROFILE_DIR`; `RBDM_BENCH_NODE_FLAGS` adds
 * node flags to the daemon (`--trace-gc`, `--max-semi-space-size=8`).
 */
const ONLY = process.env.RBDM_BENCH_ONLY ? new Set(process.env.RBDM_BENCH_ONLY.split(',')) : undefined;
const wanted = (section: string) => !ONLY || ONLY.has(section);

export async function replayBenchRows(log: (s: string) => void = () => undefined): Promise<BenchRow[]> {
  const b = new Bench();
  const rows: BenchRow[] = [];
  try {
    await b.setUp();
    if (wanted('notify')) {
      log('notify cost');
      await notifyCost(b, rows);
    }

    // One image, the daemon stopped between bursts.
    const image = 'replay';
    await b.rbdm('local', ['create', `${POOL}/${image}`, '--size', '1G', '--image-feature', 'exclusive-lock,journaling']);
    const { id } = await b.imageId('local', image);
    const boot = await b.startDaemon(2);
    await until('bootstrap', async () => (await b.clients(id)).peer?.state === 'replaying', 120_000, 100);
    await boot.stop();
    // Memory with nothing to apply: what the process costs before replay adds buffers.
    const idleDaemon = await b.startDaemon(2);
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = vm(idleDaemon.child.pid!).rss;
    await idleDaemon.stop();

    const cases = [
      { name: '4 KiB random', write: ['--io-size', '4K', '--io-total', '64M', '--io-pattern', 'rand'], ioSize: 4096, total: 64 * M, pattern: 'rand' as const },
      { name: '1 MiB sequential', write: ['--io-size', '1M', '--io-total', '256M', '--io-pattern', 'seq'], ioSize: M, total: 256 * M, pattern: 'seq' as const },
    ];
    for (const c of wanted('replay') ? cases : []) {
      const plain = await plainCopy(b.c.dir, c.ioSize, c.total, c.pattern);
      for (const workers of [1, 2]) {
        log(`replay ${c.name}, ${workers} worker(s)`);
        const r = await replayBurst(b, image, id, workers, c.write);
        const mib = c.total / M / r.secsFromFirst;
        const evs = r.entries / r.secsFromFirst;
        const plainEvs = plain * M / Math.min(c.ioSize, 16384);
        rows.push({ name: `replay ${c.name} writes, ${workers} worker(s): events/s (${r.entries} journal entries)`, value: evs, unit: 'events/s', baseline: { name: 'plain file copy of the same pattern (16 KiB units)', value: plainEvs } });
        rows.push({ name: `replay ${c.name} writes, ${workers} worker(s): MiB/s`, value: mib, unit: 'MiB/s', baseline: { name: 'plain file copy of the same pattern', value: plain } });
      }
      await b.identical(image);
    }
    if (wanted('catchup')) {
      log('catch-up after a 256 MiB burst');
      const plain256 = await plainCopy(b.c.dir, 4 * M, 256 * M, 'seq');
      const r = await replayBurst(b, image, id, Number(process.env.RBDM_BENCH_CATCHUP_WORKERS ?? 2), ['--io-size', '4M', '--io-total', '256M', '--io-pattern', 'seq']);
      rows.push({ name: 'catch-up after a 256 MiB burst (4 MiB writes), from the first replayed batch', value: r.secsFromFirst, unit: 's', baseline: { name: 'plain file copy of 256 MiB', value: 256 / plain256 } });
      rows.push({ name: 'catch-up after a 256 MiB burst, from the daemon\'s start', value: r.secsFromStart, unit: 's', baseline: { name: 'plain file copy of 256 MiB', value: 256 / plain256 } });
      const idle = spawnSync(process.execPath, ['-e', 'const s=require("fs").readFileSync("/proc/self/status","utf8");console.log(/VmRSS:\\s+(\\d+)/.exec(s)[1])'], { encoding: 'utf8' });
      const nodeRss = Number(idle.stdout.trim()) * 1024;
      rows.push({ name: 'rbdm-mirror VmRSS while replaying the burst (max of samples)', value: r.maxRss / M, unit: 'MiB', baseline: { name: 'idle node process', value: nodeRss / M } });
      rows.push({ name: 'rbdm-mirror VmHWM after the burst', value: r.hwm / M, unit: 'MiB', baseline: { name: 'idle node process', value: nodeRss / M } });
      rows.push({ name: 'rbdm-mirror VmRSS idle (one image replaying, nothing to apply)', value: idleRss / M, unit: 'MiB', baseline: { name: 'idle node process', value: nodeRss / M } });
      await b.identical(image);
    }

    if (wanted('fullsync')) {
      log('full sync of 1 GiB');
      const full = 'full';
      await b.rbdm('local', ['create', `${POOL}/${full}`, '--size', '1G', '--image-feature', 'exclusive-lock,journaling']);
      await b.rbdm('local', ['bench', `${POOL}/${full}`, '--io-type', 'write', '--io-size', '4M', '--io-threads', '16', '--io-total', '1G', '--io-pattern', 'seq']);
      const fid = (await b.imageId('local', full)).id;
      const plain1g = await plainCopy(b.c.dir, 4 * M, 1024 * M, 'seq');
      const d = await b.startDaemon(2);
      let registered = 0;
      await until('full sync', async () => {
        const p = (await b.clients(fid)).peer;
        if (p && !registered) registered = performance.now();
        return p?.state === 'replaying';
      }, 600_000, 20);
      const secs = (performance.now() - registered) / 1000;
      await d.stop();
      rows.push({ name: 'full sync of a 1 GiB image (written end to end)', value: 1024 / secs, unit: 'MiB/s', baseline: { name: 'plain file copy of 1 GiB', value: plain1g } });
      await b.identical(full);
    }

    if (wanted('lag')) {
      log('replication lag');
      await lag(b, rows);
    }
  } finally {
    await b.tearDown();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await replayBenchRows((s) => process.stdout.write(`# ${s}\n`));
  process.stdout.write('\n| measurement | rbdm | baseline | baseline value | ratio rbdm/baseline |\n|---|---|---|---|---|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.name} | ${r.value.toFixed(1)} ${r.unit} | ${r.baseline.name} | ${r.baseline.value.toFixed(1)} ${r.unit} | ${(r.value / r.baseline.value).toFixed(2)} |\n`);
  }
}
