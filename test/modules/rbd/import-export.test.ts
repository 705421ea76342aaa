// import/export: sizes, holes kept in both directions (image objects, file blocks), stdin
// and stdout, rbd's progress lines, and refusals that leave things as they were.
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync, statSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { err } from '../../../host/index.js';
import { ImageLibrary } from '../../../modules/rbd/images-service.js';
import { objectsOf } from './embedded-cluster.js';
import { hostCluster } from './host-harness.js';

const K = 1024;
const M = 1024 * K;

/** 20 MiB with data in three places and holes between. */
function sparseFile(path: string): Buffer {
  const size = 20 * M;
  const expected = Buffer.alloc(size);
  const fd = openSync(path, 'wx');
  const put = (pos: number, len: number, fill: number) => {
    const b = Buffer.alloc(len, fill);
    writeSync(fd, b, 0, len, pos);
    b.copy(expected, pos);
  };
  put(0, 4 * K, 0x11);
  put(5 * M, 100 * K, 0x22);
  put(19 * M, M, 0x33);
  ftruncateSync(fd, size);
  closeSync(fd);
  return expected;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

t.test('import a sparse file, export it back: same bytes, holes kept both ways', async (t) => {
  const hc = await hostCluster(t);
  await hc.run('pool create', { pool: 'rbd' });
  const src = join(hc.dir, 'disk.img');
  const expected = sparseFile(src);
  const imp = await hc.run('import', { path: src, image_spec: 'rbd/disk' }, { tty: true });
  t.equal(imp.stderr, ['20', '40', '60', '80'].map((p) => `\rImporting image: ${p}% complete...`).join('') +
    '\rImporting image: 100% complete...done.\n', "rbd's progress lines");
  t.equal(imp.stdout.toString(), '');
  const info = (await hc.run('info', { image_spec: 'disk' }, { format: 'json' })).result as { size: number; block_name_prefix: string };
  t.equal(info.size, 20 * M, 'sized to the file');
  const cluster = await hc.host.cluster();
  const data = (await objectsOf(cluster, 'rbd')).filter((o) => o.startsWith(`${info.block_name_prefix}.`));
  t.same(data.map((o) => o.slice(-1)), ['0', '1', '4'], 'objects only where the file has data');

  const out = join(hc.dir, 'out.img');
  const exp = await hc.run('export', { image_spec: 'disk', path: out }, { tty: true });
  t.equal(exp.stderr, ['20', '40', '60', '80'].map((p) => `\rExporting image: ${p}% complete...`).join('') +
    '\rExporting image: 100% complete...done.\n', 'rbd 068');
  const back = readFileSync(out);
  t.equal(back.length, 20 * M);
  t.equal(md5(back), md5(expected), 'same bytes');
  const allocated = statSync(out).blocks * 512;
  t.ok(allocated <= 2 * M, `holes stayed holes: ${allocated} bytes allocated for ${20 * M}`);
  t.ok(allocated >= M, 'the data is there');
  t.equal(statSync(out).mode & 0o777, 0o644 & ~process.umask());
});

t.test('stdin to stdout: sizes follow the stream, zeros go out in full', async (t) => {
  const hc = await hostCluster(t);
  await hc.run('pool create', { pool: 'rbd' });
  const input = Buffer.alloc(9 * M + 123);
  input.fill(0xaa, 0, 10);
  input.fill(0xbb, 9 * M, 9 * M + 123);
  const imp = await hc.run('import', { path: '-', image_spec: 'from-stdin' }, { stdin: input, tty: true });
  t.equal(imp.stderr, '', 'no progress without a known length');
  const info = (await hc.run('info', { image_spec: 'from-stdin' }, { format: 'json' })).result as { size: number; block_name_prefix: string };
  t.equal(info.size, 9 * M + 123, 'cut to the bytes read');
  const data = (await objectsOf(await hc.host.cluster(), 'rbd')).filter((o) => o.startsWith(`${info.block_name_prefix}.`));
  t.same(data.map((o) => o.slice(-1)), ['0', '2'], 'the zero object in between was not written');
  const exp = await hc.run('export', { image_spec: 'from-stdin', path: '-' });
  t.equal(exp.stdout.length, input.length);
  t.ok(exp.stdout.equals(input), 'stdout carries every byte');
  await hc.run('import', { path: '-', image_spec: 'empty' }, { stdin: Buffer.alloc(0) });
  t.match((await hc.run('info', { image_spec: 'empty' }, { format: 'json' })).result, { size: 0 });
  await t.rejects(hc.run('import', { path: '-' }, { stdin: input }), { message: 'image name was not specified' });
});

t.test('import options: name from the file, features, object size, data pool, sparse size', async (t) => {
  const hc = await hostCluster(t);
  await hc.run('pool create', { pool: 'rbd' });
  await hc.run('pool create', { pool: 'data' });
  const src = join(hc.dir, 'named.raw');
  writeFileSync(src, Buffer.alloc(3 * M, 1));
  await hc.run('import', { path: src, image_feature: ['layering,exclusive-lock'], object_size: '1M', data_pool: 'data' });
  const info = (await hc.run('info', { image_spec: 'named.raw' }, { format: 'json' })).result as Record<string, unknown>;
  t.match(info, { size: 3 * M, order: 20, features: ['layering', 'exclusive-lock', 'data-pool'], data_pool: 'data' });
  t.equal((await objectsOf(await hc.host.cluster(), 'data')).length, 3);
  await t.rejects(hc.run('import', { path: src, image_spec: 'x', sparse_size: '100' }), { message: /--sparse-size must be a multiple of 512/ });
});

t.test('refusals: missing file, existing image, existing export target', async (t) => {
  const hc = await hostCluster(t);
  await hc.run('pool create', { pool: 'rbd' });
  await t.rejects(hc.run('import', { path: join(hc.dir, 'nope'), image_spec: 'x' }), {
    errno: 'ENOENT', message: `error opening ${join(hc.dir, 'nope')}: (2) No such file or directory`,
  });
  t.same((await hc.run('ls', {}, { format: 'json' })).result, [], 'nothing created');
  const src = join(hc.dir, 'a.img');
  writeFileSync(src, Buffer.alloc(M, 5));
  await hc.run('import', { path: src, image_spec: 'a' });
  writeFileSync(src, Buffer.alloc(2 * M, 6));
  await t.rejects(hc.run('import', { path: src, image_spec: 'a' }), {
    code: 'ERR_IMAGE_EXISTS', message: 'rbd image a already exists; create error: (17) File exists; import failed: (17) File exists',
  });
  const exported = join(hc.dir, 'a.out');
  await hc.run('export', { image_spec: 'a', path: exported });
  t.ok(readFileSync(exported).equals(Buffer.alloc(M, 5)), 'the first import is intact');
  writeFileSync(exported, 'keep me');
  await t.rejects(hc.run('export', { image_spec: 'a', path: exported }), {
    errno: 'EEXIST', message: `cannot create ${exported}: (17) File exists; export error: (17) File exists`,
  });
  t.equal(readFileSync(exported, 'utf8'), 'keep me', 'an existing file is never overwritten');
  await t.rejects(hc.run('export', { image_spec: 'missing', path: join(hc.dir, 'm.out') }), { code: 'ERR_IMAGE_NOT_FOUND' });
  t.notOk(existsSync(join(hc.dir, 'm.out')));
});

t.test('an import that fails half-way removes the half-imported image', async (t) => {
  const hc = await hostCluster(t);
  await hc.run('pool create', { pool: 'rbd' });
  const off = new ImageLibrary({ conf: { get: () => undefined } }).registerWriteStage({
    name: 'test-refuse-high-writes', order: 1,
    beforeApply: (_img, ev) => {
      if (ev.type === 'write' && ev.offset >= 8 * M) throw err('ERR_IMAGE_READ_ONLY', 'refused by the test stage');
    },
  });
  t.teardown(off);
  const src = join(hc.dir, 'big.img');
  writeFileSync(src, Buffer.alloc(12 * M, 9));
  const r = hc.run('import', { path: src, image_spec: 'big' }, { tty: true });
  await t.rejects(r, { code: 'ERR_IMAGE_READ_ONLY', message: 'refused by the test stage; import failed: (30) Read-only file system' });
  t.same((await hc.run('ls', {}, { format: 'json' })).result, [], 'removed');
  t.same(await objectsOf(await hc.host.cluster(), 'rbd'), ['rbd_directory']);
});

t.test('an export that fails removes its partial file', async (t) => {
  const hc = await hostCluster(t);
  await hc.run('pool create', { pool: 'rbd' });
  await hc.run('pool create', { pool: 'data' });
  await hc.run('create', { image_spec: 'img', size: '8M', data_pool: 'data' });
  const lib = new ImageLibrary({ conf: { get: () => undefined } });
  const cluster = await hc.host.cluster();
  const img = await lib.openImage(cluster, 'rbd', 'img');
  await img.write(0, Buffer.alloc(8 * M, 1));
  await img.close();
  // A client that may read the image's pool but not its data pool.
  const reader = await cluster.auth.getOrCreate('client.nodata', { mon: 'profile rbd', osd: 'profile rbd pool=rbd' });
  const { embeddedBackend } = await import('../../../host/cluster/embedded/index.js');
  const { exportToFile } = await import('../../../modules/rbd/export-command.js');
  const { Progress } = await import('../../../modules/rbd/progress.js');
  const limited = await embeddedBackend.connect({
    clusterName: 'local', conf: { global: { data_dir: join(hc.dir, 'data') } }, confPath: '', entity: 'client.nodata', key: reader.key,
  });
  t.teardown(() => limited.shutdown());
  const ro = await lib.openImage(limited, 'rbd', 'img', { readOnly: true });
  const path = join(hc.dir, 'partial.img');
  await t.rejects(exportToFile(ro, path, new Progress(undefined, 'Exporting image')), { errno: 'EACCES', message: /; export error: \(13\) Permission denied$/ });
  await ro.close();
  t.notOk(existsSync(path), 'no half-written file left behind');
});
