// The rbd image commands through a real Host (ajv validation and defaults, result schemas,
// the CLI's renderer), checked against rbd 16.2's outputs in shared/reference.
import t from 'tap';
import { ImageLibrary } from '../../../modules/rbd/images-service.js';
import { hostCluster, type HostCluster } from './host-harness.js';

const INFO_RE = (name: string, sizeLine: string, features: string, extra = '') => new RegExp(
  `^rbd image '${name}':\\n` +
  `\\t${sizeLine}\\n` +
  '\\torder 22 \\(4 MiB objects\\)\\n' +
  '\\tsnapshot_count: 0\\n' +
  '\\tid: ([0-9a-f]{12})\\n' +
  `${extra}` +
  '\\tblock_name_prefix: rbd_data\\.(\\d+\\.)?\\1\\n' +
  '\\tformat: 2\\n' +
  `\\tfeatures: ${features}\\n` +
  '\\top_features: \\n' +
  '\\tflags: \\n' +
  '\\tcreate_timestamp: (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\\n' +
  '\\taccess_timestamp: .+\\n' +
  '\\tmodify_timestamp: .+\\n',
);

async function seedPools(hc: HostCluster, ...pools: string[]) {
  for (const p of pools) await hc.run('pool create', { pool: p });
}

t.test('create + info: rbd 041/042 (without the mirroring lines)', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'image-pool');
  const created = await hc.run('create', { image_spec: 'image-pool/image-1', size: '1G', image_feature: ['exclusive-lock,journaling'] });
  t.same([created.result, created.stdout.toString(), created.stderr], [undefined, '', ''], 'create is silent');
  const info = await hc.run('info', { image_spec: 'image-pool/image-1' });
  t.match(info.stdout.toString(), INFO_RE('image-1', 'size 1 GiB in 256 objects', 'exclusive-lock, journaling'));
  const id = /\tid: (\w+)\n/.exec(info.stdout.toString())![1];
  t.match(info.stdout.toString(), new RegExp(`modify_timestamp: .+\n\tjournal: ${id}\n\tmirroring state: disabled\n$`),
    'the journaling and image-state modules add their lines (042, 118)');
  const json = await hc.run('info', { image_spec: 'image-pool/image-1' }, { format: 'json' });
  const r = JSON.parse(json.stdout.toString()) as Record<string, unknown>;
  t.same(Object.keys(r), ['name', 'id', 'size', 'objects', 'order', 'object_size', 'snapshot_count', 'block_name_prefix', 'format',
    'features', 'op_features', 'flags', 'create_timestamp', 'access_timestamp', 'modify_timestamp', 'journal', 'mirroring'], "rbd's keys, in rbd's order");
  t.match(r, { name: 'image-1', size: 1 << 30, objects: 256, order: 22, object_size: 4 << 20, snapshot_count: 0, format: 2,
    features: ['exclusive-lock', 'journaling'], op_features: [], flags: [] });
});

t.test('info with a data pool: rbd 185/188 layout and data_pool key', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'image-pool', 'data-pool');
  await hc.run('create', { image_spec: 'image-pool/image-dp', size: '128M', data_pool: 'data-pool', image_feature: ['exclusive-lock,journaling'] });
  const info = await hc.run('info', { image_spec: 'image-dp', pool: 'image-pool' });
  t.match(info.stdout.toString(), INFO_RE('image-dp', 'size 128 MiB in 32 objects', 'exclusive-lock, journaling, data-pool', '\\tdata_pool: data-pool\\n'));
  t.match(info.stdout.toString(), /block_name_prefix: rbd_data\.1\.[0-9a-f]{12}\n/, 'prefix carries the image pool id');
  const r = JSON.parse((await hc.run('info', { image: 'image-pool/image-dp' }, { format: 'json' })).stdout.toString()) as Record<string, unknown>;
  t.same(Object.keys(r).slice(6, 9), ['snapshot_count', 'data_pool', 'block_name_prefix']);
});

t.test('conf: rbd default features = 125 journals new images; rbd default pool', async (t) => {
  const hc = await hostCluster(t, { 'rbd default features': '125', 'rbd default pool': 'mypool' });
  await seedPools(hc, 'mypool');
  await hc.run('create', { image_spec: 'img', size: '64' });
  const info = (await hc.run('info', { image_spec: 'img' })).stdout.toString();
  t.match(info, 'size 64 MiB in 16 objects', 'a bare --size is MiB');
  t.match(info, 'features: layering, exclusive-lock, object-map, fast-diff, deep-flatten, journaling');
  t.same((await hc.run('ls', {}, { format: 'json' })).result, ['img'], 'the default pool from the conf');
});

t.test('registered info sections append lines and JSON keys, in section order', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'image-pool');
  const images = new ImageLibrary({ conf: { get: () => undefined } });
  // After the journaling (order 10) and image-state sections come the test's own.
  const offs = [
    images.registerInfoSection({
      name: 'test-extra', order: 99,
      collect: async (img) => ({ test_extra: { id_length: img.id.length } }),
      render: (r) => [`test extra: ${(r.test_extra as { id_length: number }).id_length}`],
    }),
  ];
  t.teardown(() => offs.forEach((off) => off()));
  await hc.run('create', { image_spec: 'image-pool/image-1', size: '1G', image_feature: ['exclusive-lock', 'journaling'] });
  const text = (await hc.run('info', { image_spec: 'image-pool/image-1' })).stdout.toString();
  const id = /id: (\w+)/.exec(text)![1];
  t.ok(text.endsWith(`\tmodify_timestamp: ${/modify_timestamp: (.+)\n/.exec(text)![1]}\n\tjournal: ${id}\n` +
    '\tmirroring state: disabled\n\ttest extra: 12\n'),
  'lines in section order, after rbd\'s own');
  const r = JSON.parse((await hc.run('info', { image_spec: 'image-pool/image-1' }, { format: 'json' })).stdout.toString()) as Record<string, unknown>;
  t.equal(r.journal, id);
  t.same(r.test_extra, { id_length: 12 });
});

t.test('ls and ls -l: rbd 056/064 layout and JSON', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'image-pool', 'rbd');
  t.equal((await hc.run('ls', { pool_spec: 'image-pool', long: true })).stdout.toString(), '', 'no images: nothing at all');
  await hc.run('create', { image_spec: 'image-pool/image-1', size: '1G', image_feature: ['exclusive-lock', 'journaling'] });
  t.equal((await hc.run('ls', { pool_spec: 'image-pool', long: true })).stdout.toString(),
    'NAME     SIZE   PARENT  FMT  PROT  LOCK\nimage-1  1 GiB            2            \n');
  t.equal((await hc.run('ls', { pool_spec: 'image-pool' })).stdout.toString(), 'image-1\n');
  t.equal((await hc.run('list', { pool: 'image-pool' })).stdout.toString(), 'image-1\n', 'list alias, --pool');
  t.same((await hc.run('ls', { pool_spec: 'image-pool' }, { format: 'json' })).result, ['image-1']);
  const cluster = await hc.host.cluster();
  const img = await new ImageLibrary({ conf: { get: () => undefined } }).openImage(cluster, 'image-pool', 'image-1');
  await img.write(0, Buffer.from('x'));
  t.equal((await hc.run('ls', { pool_spec: 'image-pool', long: true })).stdout.toString(),
    'NAME     SIZE   PARENT  FMT  PROT  LOCK\nimage-1  1 GiB            2        excl\n', 'a writer holds the lock');
  const long = (await hc.run('ls', { pool_spec: 'image-pool', long: true }, { format: 'json' })).result as Array<Record<string, unknown>>;
  t.match(long, [{ image: 'image-1', id: /^[0-9a-f]{12}$/, size: 1 << 30, format: 2, lock_type: 'exclusive' }]);
  t.same(Object.keys(long[0]!), ['image', 'id', 'size', 'format', 'lock_type']);
  await img.close();
  const after = (await hc.run('ls', { pool_spec: 'image-pool', long: true }, { format: 'json' })).result as Array<Record<string, unknown>>;
  t.notOk('lock_type' in after[0]!, 'no lock_type when unlocked, as rbd');
  t.same((await hc.run('ls', {})).stdout.toString(), '', 'default pool rbd is empty');
  await t.rejects(hc.run('ls', { pool_spec: 'nope' }), { code: 'ERR_POOL_NOT_FOUND', message: "error opening pool 'nope': (2) No such file or directory" });
});

t.test('feature enable/disable: rbd 086-089, 092, 093, 116 and refusals that change nothing', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'image-pool');
  await hc.run('create', { image_spec: 'image-pool/image-2', size: '64M', image_feature: ['layering'] });
  const features = async () => ((await hc.run('info', { image_spec: 'image-pool/image-2' }, { format: 'json' })).result as { features: string[] }).features;
  await t.rejects(hc.run('feature enable', { image_spec: 'image-pool/image-2', features: ['journaling'] }), {
    code: 'ERR_FEATURE', errno: 'EINVAL',
    message: 'cannot enable journaling. exclusive-lock must be enabled before enabling journaling.; failed to update image features: (22) Invalid argument',
  });
  t.same(await features(), ['layering'], 'refused: unchanged');
  t.same((await hc.run('feature enable', { image_spec: 'image-pool/image-2', features: ['exclusive-lock'] })).stdout.toString(), '');
  await hc.run('feature enable', { image_spec: 'image-pool/image-2', features: ['journaling'] });
  t.same(await features(), ['layering', 'exclusive-lock', 'journaling']);
  await t.rejects(hc.run('feature disable', { image_spec: 'image-pool/image-2', features: ['exclusive-lock'] }), {
    message: /^cannot disable exclusive-lock\. object-map or journaling must be disabled before disabling exclusive-lock\.; failed/,
  });
  await hc.run('feature disable', { image_spec: 'image-pool/image-2', features: ['journaling'] });
  t.match((await hc.run('info', { image_spec: 'image-pool/image-2' })).stdout.toString(), '\tfeatures: layering, exclusive-lock\n', 'rbd 093');
  await t.rejects(hc.run('feature disable', { image_spec: 'image-pool/image-2', features: ['journaling'] }), {
    message: 'one or more requested features are already disabled; failed to update image features: (22) Invalid argument',
  });
  await t.rejects(hc.run('feature enable', { image_spec: 'image-pool/image-2', features: ['frobnicate'] }), {
    code: 'ERR_FEATURE', message: /unknown image feature 'frobnicate': valid features are layering, striping/,
  });
  await t.rejects(hc.run('feature enable', { image_spec: 'image-pool/image-2', features: [] }), { code: 'ERR_INVALID_ARGUMENT' });
  await hc.run('feature enable', { image_spec: 'image-pool/image-2', features: ['object-map'] });
  t.same(await features(), ['layering', 'exclusive-lock', 'object-map', 'fast-diff'], 'object-map brings fast-diff');
  await hc.run('feature disable', { image_spec: 'image-pool/image-2', features: ['object-map', 'exclusive-lock'] });
  t.same(await features(), ['layering']);
  await t.rejects(hc.run('feature enable', { image_spec: 'image-pool/no-such-image', features: ['journaling'] }), {
    code: 'ERR_IMAGE_NOT_FOUND', message: 'error opening image no-such-image: (2) No such file or directory',
  });
});

t.test('resize: shrink refused without --allow-shrink before any progress; progress on a terminal', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'rbd');
  await hc.run('create', { image_spec: 'img', size: '64M' });
  await t.rejects(hc.run('resize', { image_spec: 'img', size: '32M' }, { tty: true }), {
    code: 'ERR_INVALID_ARGUMENT', message: 'shrinking an image is only allowed with the --allow-shrink flag',
  });
  const size = async () => ((await hc.run('info', { image_spec: 'img' }, { format: 'json' })).result as { size: number }).size;
  t.equal(await size(), 64 << 20, 'unchanged');
  const grown = await hc.run('resize', { image_spec: 'img', size: '1G' }, { tty: true });
  t.equal(grown.stderr, '\rResizing image: 100% complete...done.\n');
  t.equal(await size(), 1 << 30);
  const shrunk = await hc.run('resize', { image_spec: 'img', size: '16M', allow_shrink: true });
  t.equal(shrunk.stderr, '', 'no progress off a terminal');
  t.equal(await size(), 16 << 20);
  await t.rejects(hc.run('resize', { image_spec: 'img', size: '1.5G' }), {
    code: 'ERR_INVALID_ARGUMENT', message: /the argument \('1\.5G'\) for option '--size' is invalid/,
  });
  await t.rejects(hc.run('resize', { image_spec: 'img' }), { code: 'ERR_INVALID_ARGUMENT', message: /missing required argument 'size'/ });
});

t.test('rm: progress, EBUSY while open, ENOENT after', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'rbd');
  await hc.run('create', { image_spec: 'img', size: '64M', image_feature: ['layering', 'exclusive-lock'] });
  const lib = new ImageLibrary({ conf: { get: () => undefined } });
  const img = await lib.openImage(await hc.host.cluster(), 'rbd', 'img');
  await img.write(0, Buffer.alloc(12 << 20, 7));
  const busy = hc.run('rm', { image_spec: 'img' }, { tty: true });
  await t.rejects(busy, { code: 'ERR_IMAGE_BUSY', message: /image still has watchers/ });
  await img.close();
  const r = await hc.run('rm', { image_spec: 'img' }, { tty: true });
  t.equal(r.stderr, '\rRemoving image: 33% complete...\rRemoving image: 66% complete...\rRemoving image: 100% complete...done.\n');
  await t.rejects(hc.run('remove', { image_spec: 'img', progress: false }, { tty: true }), { code: 'ERR_IMAGE_NOT_FOUND' });
});

t.test('bench: rbd 045/046 header, rows and summary; JSON; refusals', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'image-pool');
  await hc.run('create', { image_spec: 'image-pool/image-1', size: '1G', image_feature: ['exclusive-lock', 'journaling'] });
  const rand = await hc.run('bench', { image_spec: 'image-pool/image-1', io_type: 'write', io_size: '4K', io_pattern: 'rand', io_total: '16M' });
  const lines = rand.stdout.toString().split('\n');
  t.equal(lines[0], 'bench  type write io_size 4096 io_threads 16 bytes 16777216 pattern random');
  t.equal(lines[1], '  SEC       OPS   OPS/SEC   BYTES/SEC');
  t.match(lines[lines.length - 2], /^elapsed: \d+   ops: 4096   ops\/sec: [\d.]+(e\+\d\d)?   bytes\/sec: [\d.]+ (B|KiB|MiB|GiB)\/s$/);
  t.equal(lines[lines.length - 1], '');
  const seq = await hc.run('bench', { image_spec: 'image-pool/image-1', io_type: 'write', io_size: '1M', io_total: '64M' });
  t.match(seq.stdout.toString(), /^bench  type write io_size 1048576 io_threads 16 bytes 67108864 pattern sequential\n  SEC       OPS   OPS\/SEC   BYTES\/SEC\n/);
  t.match(seq.stdout.toString(), /\nelapsed: \d+   ops: 64   ops\/sec: /);
  const json = await hc.run('bench', { image_spec: 'image-pool/image-1', io_type: 'read', io_total: '1M' }, { format: 'json' });
  t.equal(json.stdout.toString().split('\n')[0]!.startsWith('{'), true, 'JSON: no streamed header');
  t.match(JSON.parse(json.stdout.toString()), { io_type: 'read', io_size: 4096, io_threads: 16, io_total: 1 << 20, io_pattern: 'seq', ops: 256 });
  const rw = await hc.run('bench', { image_spec: 'image-pool/image-1', io_type: 'rw', rw_mix_read: 70, io_total: '1M', io_pattern: 'full-seq' });
  const rwText = rw.stdout.toString();
  t.match(rwText, /^bench  type readwrite read:write=70:30 io_size 4096 io_threads 16 bytes 1048576 pattern full sequential\n/);
  const ops = /\nread_ops: (\d+)   read_ops\/sec: [\d.e+]+   read_bytes\/sec: .+\/s\nwrite_ops: (\d+)   write_ops\/sec: [\d.e+]+   write_bytes\/sec: .+\/s\n$/.exec(rwText);
  t.ok(ops, rwText);
  t.equal(Number(ops![1]) + Number(ops![2]), 256);
  await hc.run('create', { image_spec: 'image-pool/tiny', size: '4K' });
  await t.rejects(hc.run('bench', { image_spec: 'image-pool/tiny', io_type: 'write', io_size: '8K' }), {
    code: 'ERR_INVALID_ARGUMENT', message: 'io-size 8 KiB larger than image size 4 KiB',
  });
  await t.rejects(hc.run('bench', { image_spec: 'image-pool/tiny', io_type: 'write', io_size: '0' }), { message: '--io-size should be greater than zero.' });
  await t.rejects(hc.run('bench', { image_spec: 'image-pool/tiny', io_type: 'write', io_threads: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(hc.run('bench', { image_spec: 'image-pool/tiny' }), { message: /missing required argument 'io_type'/ });
  await t.rejects(hc.run('bench', { image_spec: 'image-pool/tiny', io_type: 'write', io_pattern: 'zigzag' }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('bench prints a row per second it runs (rbd\'s rolling window)', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'rbd');
  await hc.run('create', { image_spec: 'img', size: '1G', image_feature: ['layering', 'exclusive-lock'] });
  const r = await hc.run('bench', { image_spec: 'img', io_type: 'write', io_pattern: 'rand', io_total: '192M' });
  const lines = r.stdout.toString().trimEnd().split('\n');
  const rows = lines.slice(2, -1);
  const { elapsed } = r.result as { elapsed: number };
  for (const row of rows) t.match(row, /^ {0,4}\d+ +\d+ +[\d.]+(e\+\d\d)? +[\d.]+ (B|KiB|MiB|GiB)\/s$/, 'SEC OPS OPS/SEC BYTES/SEC');
  t.ok(rows.length >= Math.floor(elapsed) - 1 && rows.length <= Math.floor(elapsed), `${rows.length} rows in ${elapsed} s`);
  const secs = rows.map((row) => Number(row.trim().split(/ +/)[0]));
  t.same(secs, [...secs].sort((a, b) => a - b), 'seconds go up');
});

t.test('image spec forms and errors', async (t) => {
  const hc = await hostCluster(t);
  await seedPools(hc, 'rbd', 'p2');
  await hc.run('create', { image_spec: 'a', size: '1M' });
  await hc.run('create', { image: 'b', pool: 'p2', size: '1M' });
  await hc.run('create', { image_spec: 'c', pool: 'p2', size: '1M' });
  t.same((await hc.run('ls', {}, { format: 'json' })).result, ['a']);
  t.same((await hc.run('ls', { pool_spec: 'p2' }, { format: 'json' })).result, ['b', 'c']);
  await t.rejects(hc.run('info', {}), { message: 'image name was not specified' });
  await t.rejects(hc.run('info', { image_spec: 'a/b/c' }), { message: /namespaces are not supported/ });
  await t.rejects(hc.run('info', { image_spec: 'a@snap' }), { message: /snapshots are not supported/ });
  await t.rejects(hc.run('info', { image_spec: 'nopool/x' }), { code: 'ERR_POOL_NOT_FOUND', errno: 'ENOENT' });
  await t.rejects(hc.run('create', { image_spec: 'x', size: '1M', object_size: '3K' }), { message: /object size 3072 is not a power of two/ });
  await t.rejects(hc.run('create', { image_spec: 'x', size: '1M', image_feature: ['journaling'] }), { code: 'ERR_FEATURE' });
  await t.rejects(hc.run('create', { image_spec: 'a', size: '1M' }), { code: 'ERR_IMAGE_EXISTS', errno: 'EEXIST' });
  t.same((await hc.run('ls', {}, { format: 'json' })).result, ['a'], 'refusals created nothing');
  await hc.run('create', { image_spec: 'big-objects', size: '64M', object_size: '8M' });
  t.match((await hc.run('info', { image_spec: 'big-objects' })).stdout.toString(), '\tsize 64 MiB in 8 objects\n\torder 23 (8 MiB objects)\n');
});
