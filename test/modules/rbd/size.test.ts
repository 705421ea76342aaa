// host/util/size: rbd's size parsing (strict_iecstrtoll) and Ceph's byte_u_t printing.
import t from 'tap';
import { formatBytes, formatRate, HostError, parseSize } from '../../../host/index.js';

t.test('parseSize accepts rbd forms', async (t) => {
  t.equal(parseSize('1G'), 1 << 30);
  t.equal(parseSize('64M'), 64 << 20);
  t.equal(parseSize('4K'), 4096);
  t.equal(parseSize('1T'), 2 ** 40);
  t.equal(parseSize('2P'), 2 * 2 ** 50);
  t.equal(parseSize('512B'), 512);
  t.equal(parseSize('1Gi'), 1 << 30, 'IEC spelling');
  t.equal(parseSize('1GB'), 1 << 30, 'old SI spelling means binary, as in Ceph');
  t.equal(parseSize('10'), 10 << 20, 'a bare number is MiB for --size');
  t.equal(parseSize('4096', 'B'), 4096, 'a bare number is bytes for --io-size');
  t.equal(parseSize('0'), 0);
});

t.test('parseSize refuses what rbd refuses, with EINVAL', async (t) => {
  for (const bad of ['1.5G', '', 'G', '-1', '+1', '1g', '1Bi', '1X', '1 G', '1GiB', ' 1']) {
    const e = t.throws(() => parseSize(bad, 'M', '--size'), `refuses ${JSON.stringify(bad)}`) as unknown as HostError;
    t.equal(e.code, 'ERR_INVALID_ARGUMENT');
    t.equal(e.errno, 'EINVAL');
    t.match(e.message, `the argument ('${bad}') for option '--size' is invalid`);
  }
  t.throws(() => parseSize('9E'), /too large/, 'beyond 2^53 - 1');
  t.throws(() => parseSize('x'), /^invalid size 'x'/, 'without an option name');
});

t.test('formatBytes prints like byte_u_t', async (t) => {
  t.equal(formatBytes(0), '0 B');
  t.equal(formatBytes(1023), '1023 B');
  t.equal(formatBytes(4096), '4 KiB');
  t.equal(formatBytes(64 << 20), '64 MiB');
  t.equal(formatBytes(1 << 30), '1 GiB');
  t.equal(formatBytes(1.5 * 2 ** 30), '1.5 GiB');
  t.equal(formatBytes(1.25 * 2 ** 30), '1.2 GiB', 'at most 7 characters; an exact tie rounds to even, as printf');
  t.equal(formatBytes(1.75 * 2 ** 30), '1.8 GiB');
  t.equal(formatBytes(1.3 * 2 ** 30), '1.3 GiB');
  t.equal(formatBytes(10.5 * 2 ** 20), '10 MiB', 'seven characters at most: 10.5 rounds half-to-even');
  t.equal(formatBytes(11.5 * 2 ** 20), '12 MiB', 'and 11.5 to 12');
  t.equal(formatBytes(28311552.7), '27 MiB', 'fractions of a byte dropped first');
  t.equal(formatBytes(2 ** 60), '1 EiB');
  t.equal(formatBytes(-5), '0 B');
});

t.test('formatRate is byte_u_t with /s, as rbd bench prints', async (t) => {
  t.equal(formatRate(16777216 / 0.592), '27 MiB/s');
  t.equal(formatRate(432 * 2 ** 20 + 12345), '432 MiB/s');
  t.equal(formatRate(160 * 2 ** 20), '160 MiB/s');
});
