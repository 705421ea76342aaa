// rbd's C++ output conventions: std::ostream doubles, TextTable, ctime.
import t from 'tap';
import { cppDouble, ctime, textTable } from '../../../modules/rbd/text-format.js';

t.test('cppDouble is %g with 6 significant digits', async (t) => {
  t.equal(cppDouble(4096 / 0.592001), '6918.91');
  t.equal(cppDouble(6918.9234), '6918.92');
  t.equal(cppDouble(64 / 0.148), '432.432');
  t.equal(cppDouble(2560), '2560');
  t.equal(cppDouble(444.4444444), '444.444');
  t.equal(cppDouble(1234567), '1.23457e+06');
  t.equal(cppDouble(0.00001234), '1.234e-05');
  t.equal(cppDouble(0.5), '0.5');
  t.equal(cppDouble(0), '0');
  t.equal(cppDouble(Infinity), 'inf');
  t.equal(cppDouble(NaN), 'nan');
});

t.test('textTable lays out rbd ls -l exactly (reference 056 and 064)', async (t) => {
  const cols = [
    { header: 'NAME', align: 'left' as const }, { header: 'SIZE', align: 'right' as const },
    { header: 'PARENT', align: 'left' as const }, { header: 'FMT', align: 'right' as const },
    { header: 'PROT', align: 'left' as const }, { header: 'LOCK', align: 'left' as const },
  ];
  t.equal(textTable(cols, [['image-1', '1 GiB', '', '2', '', '']]),
    'NAME     SIZE   PARENT  FMT  PROT  LOCK\nimage-1  1 GiB            2            \n');
  t.equal(textTable(cols, [['image-1', '1 GiB', '', '2', '', 'excl']]),
    'NAME     SIZE   PARENT  FMT  PROT  LOCK\nimage-1  1 GiB            2        excl\n');
  t.equal(textTable(cols, [['a', '64 MiB', '', '2', '', ''], ['image-22', '1 GiB', '', '2', '', 'excl']]),
    'NAME      SIZE    PARENT  FMT  PROT  LOCK\na         64 MiB            2            \nimage-22   1 GiB            2        excl\n');
});

t.test('ctime is local time, day padded with a space', async (t) => {
  const d = new Date(2026, 10, 25, 10, 21, 23);
  t.equal(ctime(d.getTime()), 'Wed Nov 25 10:21:23 2026');
  t.equal(ctime(new Date(2026, 0, 5, 3, 4, 5).getTime()), 'Mon Jan  5 03:04:05 2026');
});
