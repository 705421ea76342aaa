/**
 * Starts real single-host Ceph 16.2 clusters (Debian packages) for tests: per cluster 1 mon,
 * 1 mgr, 1 memstore OSD, cephx on, loopback only, pool size 1. Follows
 * shared/reference/ceph-on-one-host.md. Daemons run in the foreground (`-f`) as our own
 * children, so the pids we hold are the daemons themselves and stop() kills exactly those.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CephClusterInfo { name: string; fsid: string; confPath: string; adminKeyringPath: string; dataDir: string; monAddr: string; }
export interface CephClusters {
  dir: string;
  clusters: Record<string, CephClusterInfo>;
  stop(): Promise<void>;
  /** The daemons this run spawned (extra to the agreed API: tests check they are gone). */
  daemons: readonly CephDaemon[];
}
export interface CephDaemon { cluster: string; name: string; pid: number; }

/** Fixed ports per cluster name (issue 3); other names get the next free slot. */
const PORTS: Record<string, { v2: number; v1: number; min: number; max: number }> = {
  local: { v2: 3300, v1: 6789, min: 6800, max: 6849 },
  remote: { v2: 3301, v1: 6790, min: 6850, max: 6899 },
};
const ports = (name: string, i: number) => PORTS[name] ?? { v2: 3302 + i, v1: 6791 + i, min: 6900 + 50 * i, max: 6949 + 50 * i };
const BINARIES = ['ceph-mon', 'ceph-mgr', 'ceph-osd', 'ceph', 'monmaptool'];
/** Run dirs are `$TMPDIR/rbdm-ceph-XXXXXX`; stale-run cleanup only looks at this prefix. */
const PREFIX = 'rbdm-ceph-';
/** One set of clusters per host at a time: the ports are fixed, so tap's parallel jobs queue here. */
const LOCK = join(tmpdir(), 'rbdm-ceph.lock');
const STOP_GRACE_MS = 5_000;

function which(bin: string): string | undefined {
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (d && existsSync(join(d, bin))) return join(d, bin);
  }
  return undefined;
}

export function cephUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `Ceph clusters need Linux (this is ${process.platform})`;
  const missing = BINARIES.filter((b) => !which(b));
  if (missing.length) return `Ceph binaries not installed: ${missing.join(', ')} (apt-get install ceph-mon ceph-mgr ceph-osd ceph-common)`;
  return undefined;
}

/** A cephx secret as ceph-authtool makes it: u16 type (1 = AES), u32 sec, u32 nsec, u16 len, key. */
function cephxKey(): string {
  const b = Buffer.alloc(12 + 16);
  const now = Date.now();
  b.writeUInt16LE(1, 0);
  b.writeUInt32LE(Math.floor(now / 1000), 2);
  b.writeUInt32LE((now % 1000) * 1_000_000, 6);
  b.writeUInt16LE(16, 10);
  randomBytes(16).copy(b, 12);
  return b.toString('base64');
}

function keyringEntry(entity: string, key: string, caps: Record<string, string>): string {
  const capLines = Object.entries(caps).map(([k, v]) => `\tcaps ${k} = "${v}"\n`).join('');
  return `[${entity}]\n\tkey = ${key}\n${capLines}`;
}

/** Start time of a process (field 22 of /proc/PID/stat), to tell a live owner from a reused pid. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch { return undefined; }
}
const ownerStamp = (): string => `${process.pid} ${startTime(process.pid) ?? ''}`;
function ownerAlive(stamp: string): boolean {
  const [pid, st] = stamp.trim().split(' ');
  return !!pid && startTime(Number(pid)) === st;
}
function cmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '); } catch { return ''; }
}
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readStatus(pid));
function readStatus(pid: number): string {
  try { return readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { return ''; }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Kill pids that are not our children: SIGTERM, then SIGKILL after the grace, polling /proc. */
async function killForeign(pids: number[]): Promise<void> {
  for (const p of pids) try { process.kill(p, 'SIGTERM'); } catch { /* gone */ }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  for (const p of pids.filter(alive)) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  while (pids.some(alive)) await sleep(50);
}

/**
 * Earlier runs whose test process died without stop(): kill their daemons (only pids whose
 * cmdline names that run's dir, so a reused pid is never hit) and remove the dir.
 */
async function cleanStaleRuns(): Promise<void> {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: string, pids: number[];
    try {
      owner = readFileSync(join(dir, 'owner'), 'utf8');
      pids = readFileSync(join(dir, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch { continue; } // not (yet) a complete run dir: leave it alone
    if (ownerAlive(owner)) continue;
    const ours = pids.filter((p) => cmdline(p).includes(dir));
    // OSDs first, as in stop(): an OSD whose mon is gone only leaves on SIGKILL.
    await killForeign(ours.filter((p) => cmdline(p).startsWith('ceph-osd')));
    await killForeign(ours);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function acquireLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, ownerStamp());
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = '';
    try { holder = readFileSync(LOCK, 'utf8'); } catch { continue; }
    if (holder === ownerStamp()) throw new Error('startCephClusters: this process already runs Ceph clusters; stop() them first');
    if (holder && !ownerAlive(holder)) { try { unlinkSync(LOCK); } catch { /* raced */ } continue; }
    if (Date.now() > deadline) throw new Error(`startCephClusters: ${LOCK} held by pid ${holder.split(' ')[0]} for too long`);
    await sleep(250);
  }
}
function releaseLock(): void {
  try { if (readFileSync(LOCK, 'utf8') === ownerStamp()) unlinkSync(LOCK); } catch { /* gone */ }
}

/** True when 127.0.0.1:port can be bound; a busy mon port would otherwise show as a 30 s timeout. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface Cmd { code: number; out: string; err: string; }
/** Runs a short-lived tool; resolves with its output (never rejects on exit code). */
export function exec(bin: string, args: string[], timeoutMs = 60_000): Promise<Cmd> {
  return new Promise((resolve, reject) => {
    const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', reject);
    c.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 1, out, err }); });
  });
}
async function must(bin: string, args: string[]): Promise<string> {
  const r = await exec(bin, args);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
  return r.out;
}

function confText(name: string, fsid: string, dir: string, monAddr: string, ports: { min: number; max: number }): string {
  return `# Written by test/harness/ceph-clusters.ts; see shared/reference/ceph-on-one-host.md.
[global]
fsid = ${fsid}
mon host = ${monAddr}
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = ${ports.min}
ms bind port max = ${ports.max}
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
# Modern clients only; otherwise 16.2 reports HEALTH_WARN about insecure global_id reclaim.
auth allow insecure global id reclaim = false
# Clients' keyrings by literal path: with --conf alone $cluster would be "ceph", not ${name}.
keyring = ${dir}/${name}.$name.keyring
run dir = ${dir}/run
log file = ${dir}/log/$name.log
mon cluster log file = ${dir}/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool delete = true
# Test hosts may have a fuller disk than a mon likes; that is not what these tests check.
mon data avail warn = 2
mon data avail crit = 1

# Trap 1: every daemon gets its own keyring, or the [global] one would apply and break cephx.
[mon]
mon data = ${dir}/$name
keyring = ${dir}/$name/keyring
[mgr]
mgr data = ${dir}/$name
keyring = ${dir}/$name/keyring
mgr initial modules = iostat
[osd]
osd data = ${dir}/$name
keyring = ${dir}/$name/keyring
osd objectstore = memstore
memstore device bytes = 6442450944
osd memory target = 939524096
`;
}

interface Run { dir: string; children: Map<number, { child: ChildProcess; d: CephDaemon }>; }

function spawnDaemon(run: Run, cluster: CephClusterInfo, bin: string, id: string): void {
  const out = openSync(join(cluster.dataDir, 'log', `${bin}.${id}.out`), 'a');
  const child = spawn(bin, ['-f', '--cluster', cluster.name, '--conf', cluster.confPath, '-i', id], {
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  // Not ref'd: a test that forgets stop() must not hang; the exit hook still kills it.
  child.unref();
  if (child.pid === undefined) throw new Error(`${bin} did not start`);
  const d = { cluster: cluster.name, name: `${bin.slice(5)}.${id}`, pid: child.pid };
  run.children.set(child.pid, { child, d });
  child.once('exit', () => run.children.delete(child.pid!));
  // Record the pid before anything else can fail, for stale-run cleanup.
  writeFileSync(join(run.dir, 'pids'), [...run.children.keys()].join('\n') + '\n');
}

async function prepare(info: CephClusterInfo, monAddrV: string): Promise<{ osdUuid: string }> {
  const d = info.dataDir;
  for (const sub of ['run', 'log', 'mon.a', 'mgr.x', 'osd.0']) mkdirSync(join(d, sub), { recursive: true });
  const admin = keyringEntry('client.admin', cephxKey(), { mon: 'allow *', osd: 'allow *', mgr: 'allow *' });
  const mgr = keyringEntry('mgr.x', cephxKey(), { mon: 'allow profile mgr', osd: 'allow *', mds: 'allow *' });
  const osd = keyringEntry('osd.0', cephxKey(), { mon: 'allow profile osd', mgr: 'allow profile osd', osd: 'allow *' });
  writeFileSync(info.adminKeyringPath, admin, { mode: 0o600 });
  writeFileSync(join(d, 'mgr.x', 'keyring'), mgr, { mode: 0o600 });
  // Seed the mon's auth database with every key now: no `ceph auth add` round trips later.
  const seed = join(d, 'mon-seed.keyring');
  writeFileSync(seed, keyringEntry('mon.', cephxKey(), { mon: 'allow *' }) + admin + mgr + osd, { mode: 0o600 });
  const monmap = join(d, 'monmap');
  await must('monmaptool', ['--create', '--fsid', info.fsid, '--addv', 'a', monAddrV, monmap]);
  const osdUuid = randomUUID();
  const base = ['--cluster', info.name, '--conf', info.confPath];
  await Promise.all([
    must('ceph-mon', [...base, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', seed]),
    // Trap 2: without --no-mon-config mkfs would try to reach the (not yet running) mon.
    must('ceph-osd', [...base, '--mkfs', '-i', '0', '--osd-uuid', osdUuid, '--no-mon-config']),
  ]);
  writeFileSync(join(d, 'osd.0', 'keyring'), osd, { mode: 0o600 });
  return { osdUuid };
}

async function bringUp(run: Run, info: CephClusterInfo, monAddrV: string, deadline: number): Promise<void> {
  const { osdUuid } = await prepare(info, monAddrV);
  spawnDaemon(run, info, 'ceph-mon', 'a');
  spawnDaemon(run, info, 'ceph-mgr', 'x');
  // Registers osd.0 in the osdmap (its key is already in the auth database); a mon that dies
  // meanwhile fails the bring-up at once instead of after the connect timeout.
  const mon = [...run.children.values()].find((c) => c.d.cluster === info.name && c.d.name === 'mon.a')!.child;
  let onMonExit = (): void => undefined;
  const monDied = new Promise<never>((_, reject) => {
    onMonExit = () => reject(new Error(`${info.name}: mon.a exited during bring-up`));
    mon.once('exit', onMonExit);
  });
  try {
    await Promise.race([monDied, must('ceph', ['--conf', info.confPath, '--connect-timeout', '30', 'osd', 'new', osdUuid, '0'])]);
  } finally { mon.off('exit', onMonExit); }
  spawnDaemon(run, info, 'ceph-osd', '0');
  await waitHealthy(info, deadline, run);
}

async function waitHealthy(info: CephClusterInfo, deadline: number, run: Run): Promise<void> {
  let last = '';
  for (;;) {
    const dead = [...run.children.values()].filter((c) => c.d.cluster === info.name && c.child.exitCode !== null);
    if (dead.length) throw new Error(`${info.name}: ${dead.map((c) => c.d.name).join(', ')} exited during bring-up`);
    const r = await exec('ceph', ['--conf', info.confPath, '--connect-timeout', '10', 'status', '--format', 'json'], 20_000);
    if (r.code === 0) {
      try {
        const s = JSON.parse(r.out) as { health: { status: string }; osdmap: { num_up_osds: number }; pgmap: { num_pgs: number; pgs_by_state?: { state_name: string; count: number }[] }; mgrmap: { available: boolean } };
        const clean = (s.pgmap.pgs_by_state ?? []).filter((p) => p.state_name === 'active+clean').reduce((a, p) => a + p.count, 0);
        const ok = s.health.status === 'HEALTH_OK' && s.mgrmap.available && s.osdmap.num_up_osds === 1;
        if (ok && clean === s.pgmap.num_pgs) return;
        last = `${s.health.status}, mgr ${s.mgrmap.available ? '' : 'not '}available, ${s.osdmap.num_up_osds} osd up, ${clean}/${s.pgmap.num_pgs} pgs active+clean`;
      } catch { last = r.out.slice(0, 200); }
    } else last = r.err.trim().slice(-300);
    if (Date.now() > deadline) {
      const detail = await exec('ceph', ['--conf', info.confPath, '--connect-timeout', '5', 'health', 'detail'], 10_000);
      throw new Error(`${info.name}: not healthy in time (${last})\n${detail.out}`);
    }
    await sleep(300);
  }
}

/** Last lines of every daemon log of a run, for the rejection message. */
function logTails(dir: string, names: string[], lines = 25): string {
  const parts: string[] = [];
  for (const n of names) {
    const logDir = join(dir, n, 'log');
    if (!existsSync(logDir)) continue;
    for (const f of readdirSync(logDir).sort()) {
      const text = readFileSync(join(logDir, f), 'utf8').trimEnd();
      if (text) parts.push(`--- ${n}/log/${f}\n${text.split('\n').slice(-lines).join('\n')}`);
    }
  }
  return parts.join('\n');
}

/** SIGTERM, SIGKILL after the grace, and wait for these children's exits (so ports are free). */
async function killChildren(kids: ChildProcess[]): Promise<void> {
  kids = kids.filter((c) => c.exitCode === null && c.signalCode === null);
  // Ref them again: unref'd children would let the event loop end before their exits arrive.
  for (const c of kids) c.ref();
  const exited = kids.map((c) => new Promise<void>((r) => { if (c.exitCode !== null || c.signalCode !== null) r(); else c.once('exit', () => r()); }));
  for (const c of kids) c.kill('SIGTERM');
  const timer = setTimeout(() => { for (const c of kids) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); }, STOP_GRACE_MS);
  await Promise.all(exited);
  clearTimeout(timer);
}

/** OSDs first: with their mon gone an OSD's shutdown waits on it and needs the SIGKILL. */
async function stopDaemons(run: Run): Promise<void> {
  const all = [...run.children.values()];
  await killChildren(all.filter((c) => c.d.name.startsWith('osd.')).map((c) => c.child));
  await killChildren(all.map((c) => c.child));
}

/** Starts clusters (default ['local','remote']) under a new temp dir; rejects with the daemon logs' tail on failure. */
export async function startCephClusters(opts: { names?: string[]; dir?: string; timeoutMs?: number } = {}): Promise<CephClusters> {
  const reason = cephUnavailableReason();
  if (reason) throw new Error(reason);
  const names = opts.names ?? ['local', 'remote'];
  await cleanStaleRuns();
  await acquireLock(180_000);
  for (const [i, name] of names.entries()) {
    for (const port of [ports(name, i).v2, ports(name, i).v1]) {
      if (!(await portFree(port))) { releaseLock(); throw new Error(`startCephClusters: ${name}'s mon port 127.0.0.1:${port} is in use`); }
    }
  }
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), PREFIX));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'owner'), ownerStamp());
  writeFileSync(join(dir, 'pids'), '');
  const run: Run = { dir, children: new Map() };
  // Last resort if the test process exits without stop(): SIGKILL is synchronous.
  const onExit = (): void => { for (const { child } of run.children.values()) try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', onExit);
  const clusters: Record<string, CephClusterInfo> = {};
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= (async () => {
    await stopDaemons(run);
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
    releaseLock();
  })());
  try {
    await Promise.all(names.map((name, i) => {
      const p = ports(name, i);
      const dataDir = join(dir, name);
      const monAddr = `v2:127.0.0.1:${p.v2},v1:127.0.0.1:${p.v1}`;
      const info: CephClusterInfo = {
        name, fsid: randomUUID(), dataDir, monAddr,
        confPath: join(dataDir, `${name}.conf`),
        adminKeyringPath: join(dataDir, `${name}.client.admin.keyring`),
      };
      clusters[name] = info;
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(info.confPath, confText(name, info.fsid, dataDir, `[${monAddr}]`, p));
      return bringUp(run, info, `[${monAddr}]`, deadline);
    }));
  } catch (e) {
    const tails = logTails(dir, names);
    await stop();
    throw new Error(`startCephClusters failed: ${(e as Error).message}\n${tails}`);
  }
  return { dir, clusters, stop, daemons: [...run.children.values()].map((c) => c.d) };
}
