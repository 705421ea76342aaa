// SIGKILL of a writer process: the next lock holder replays what was journaled but not
// applied, every acknowledged write is present, and the image equals a replay of its journal.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { journalCluster, K, M, replayInto } from './setup.js';

const WRITER = fileURLToPath(new URL('../../fixtures/journaling/journal-writer.js', import.meta.url));
const block = (n: number) => Buffer.alloc(4 * K, (n % 250) + 1);

/** Runs the writer; `killAfter` acks (or never) then SIGKILL; resolves with the acked block numbers. */
function writer(dir: string, mode: string, killAfter?: number): Promise<{ acked: number[]; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, 'rbd', 'img', mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let out = '';
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const m = /^acked (\d+)$/.exec(l);
        if (m) acked.push(Number(m[1]));
        if (killAfter !== undefined && acked.length === killAfter) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ acked, signal, out }));
  });
}

t.test('killed between the durable append and the apply: the next lock holder replays it', async (t) => {
  const c = await journalCluster(t);
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: 4 * M, features: 1 | 4 | 64 });
  const w = await writer(c.dir, 'die-before-apply');
  t.equal(w.signal, 'SIGKILL', w.out);
  t.same(w.acked, [0, 1, 2, 3, 4]);
  const ro = await c.lib.openImage(c.cluster, 'rbd', 'img', { readOnly: true });
  t.ok((await ro.read(5 * 4 * K, 4 * K)).equals(Buffer.alloc(4 * K)), 'block 5 was journaled, not applied');
  await ro.close();
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  await img.flush(); // takes the lock: replay
  t.ok((await img.read(5 * 4 * K, 4 * K)).equals(block(5)), 'replayed on lock acquisition');
  for (let n = 0; n < 5; n++) t.ok((await img.read(n * 4 * K, 4 * K)).equals(block(n)), `acked block ${n}`);
  const data = await img.read(0, 4 * M);
  await img.close();
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  const r = await j.read(undefined);
  t.ok(replayInto(4 * M, r.entries).equals(data), 'image equals a replay of its journal');
  const meta = await j.metadata();
  t.same(meta.tags.map((x) => [x.tid, x.data.mirrorUuid]), [[0, ''], [1, ''], [2, '']], 'a tag per lock epoch, owner local');
  t.match(meta.tags[2]!.data.predecessor, { mirrorUuid: '', commitValid: true, tagTid: 1, entryTid: 5 }, 'the new epoch names where the last one ended');
});

t.test('SIGKILL in the middle of a stream of concurrent writes', async (t) => {
  const c = await journalCluster(t);
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: 16 * M, features: 1 | 4 | 64 });
  const w = await writer(c.dir, 'stream', 300);
  t.equal(w.signal, 'SIGKILL', w.out);
  t.ok(w.acked.length >= 300, `${w.acked.length} writes acknowledged before the kill`);
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  await img.flush();
  const data = await img.read(0, 16 * M);
  await img.close();
  const missing = w.acked.filter((n) => !data.subarray(n * 4 * K, (n + 1) * 4 * K).equals(block(n)));
  t.same(missing, [], 'every acknowledged write is present');
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  const r = await j.read(undefined);
  t.same(r.corrupt, [], 'no corrupt entries');
  t.ok(replayInto(16 * M, r.entries).equals(data), `image equals a replay of its ${r.entries.length} journal entries`);
});
