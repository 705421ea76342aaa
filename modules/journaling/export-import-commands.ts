/**
 * `journal export <spec> <path>` and `journal import <path> <spec>`.
 *
 * The file is a line `rbdm-journal-export v1\n` followed by the replayable entries in replay
 * order, each in its journal framing (preamble, tids, length, payload, CRC32C), so the file
 * is checked the same way as the journal. Import verifies the whole file before touching
 * the image, then applies each event through the image's write path (so a journaled
 * destination journals them again, as rbd's import replays into the image).
 */
import { open, readFile, rm } from 'node:fs/promises';
import { defineCommand, err, Type } from '../../host/index.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, withImage, withJournal } from './command-support.js';
import { encodeEntry } from './entry-codec.js';
import { encodeEvent, toWriteEvent } from './event-codec.js';
import { readJournal, poolDecode } from './journal-reader.js';
import { decodeObjects } from './journal.worker.js';

export const EXPORT_MAGIC = 'rbdm-journal-export v1\n';

const Summary = Type.Object({ entries: Type.Integer() });

export const journalExportCommand = defineCommand({
  prefix: 'journal export',
  desc: 'Export image journal.',
  perm: 'r',
  // Both optional: yargs fills required positionals first, and `--image X PATH` leaves the
  // path in the spec's place (as rbd export reads it).
  args: Type.Object({ ...imageSpecArgs, path: Type.Optional(Type.String({ description: 'export file (must not exist)' })) }),
  positional: ['image_spec', 'path'],
  optionAliases: imageSpecAliases,
  result: Summary,
  render: (r) => `Exported ${r.entries} journal entries\n`,
  handler: async (a, ctx) => {
    const path = a.path ?? (a.image !== undefined ? a.image_spec : undefined);
    if (path === undefined || path === '') throw err('ERR_INVALID_ARGUMENT', 'export path was not specified');
    const spec = imageSpec(ctx, a.path === undefined ? { ...a, image_spec: undefined as never } : a);
    return exportJournal(ctx, spec, path);
  },
});

async function exportJournal(ctx: Parameters<typeof withJournal>[0], spec: ReturnType<typeof imageSpec>, path: string) {
  return withJournal(ctx, spec, async (j) => {
    const r = await readJournal(j, undefined, { decode: poolDecode(ctx.pool) });
    const fh = await open(path, 'wx').catch((e: NodeJS.ErrnoException) => {
      throw err('ERR_INVALID_ARGUMENT', `cannot create export file '${path}': ${e.code === 'EEXIST' ? 'it already exists' : e.message}`);
    });
    try {
      await fh.write(EXPORT_MAGIC);
      for (const e of r.entries) await fh.write(encodeEntry(e.tagTid, e.entryTid, encodeEvent(e.event as never, e.data)));
      await fh.sync();
    } catch (e) {
      await fh.close();
      await rm(path, { force: true });
      throw e;
    }
    await fh.close();
    return { entries: r.entries.length };
  });
}

export const journalImportCommand = defineCommand({
  prefix: 'journal import',
  desc: 'Import image journal.',
  perm: 'rw',
  args: Type.Object({ path: Type.String({ description: 'file made by journal export' }), ...imageSpecArgs }),
  positional: ['path', 'image_spec'],
  optionAliases: imageSpecAliases,
  result: Summary,
  render: (r) => `Imported ${r.entries} journal entries\n`,
  handler: async (a, ctx) => {
    const spec = imageSpec(ctx, a);
    const raw = await readFile(a.path).catch((e: NodeJS.ErrnoException) => {
      throw err('ERR_INVALID_ARGUMENT', `cannot read '${a.path}': ${e.message}`);
    });
    if (!raw.subarray(0, EXPORT_MAGIC.length).equals(Buffer.from(EXPORT_MAGIC))) {
      throw err('ERR_INVALID_ARGUMENT', `'${a.path}' is not a journal export (no '${EXPORT_MAGIC.trim()}' header)`);
    }
    const d = decodeObjects({ objects: [{ objectNumber: 0, data: raw.subarray(EXPORT_MAGIC.length) }] });
    if (!d.ok) throw err('ERR_INVALID_ARGUMENT', d.message);
    const bad = d.value.corrupt[0] ?? (d.value.torn[0] ? { offset: raw.length, reason: 'the file ends inside an entry' } : undefined);
    if (bad) {
      throw err('ERR_INVALID_ARGUMENT', `'${a.path}' is damaged at byte ${bad.offset + EXPORT_MAGIC.length}: ${bad.reason}; nothing was imported`);
    }
    const events = d.value.entries.map((e) => ({ e, ev: toWriteEvent({ head: e.event as never, ...(e.data ? { data: e.data } : {}) }) }));
    const snap = events.find((x) => x.e.event.type.startsWith('snap_'));
    if (snap) throw err('ERR_NOT_SUPPORTED', `'${a.path}' holds a ${snap.e.event.type} event: images do not support snapshots yet; nothing was imported`);
    return withImage(ctx, spec, true, async (img) => {
      for (const { ev } of events) {
        if (!ev) continue;
        const end = ev.type === 'write' || ev.type === 'discard' || ev.type === 'write_zeroes' ? ev.offset + ev.length : 0;
        if (end > img.info.size && !events.some((x) => x.ev?.type === 'resize')) {
          throw err('ERR_INVALID_ARGUMENT', `'${a.path}' writes up to byte ${end}, beyond the end of ${spec.pool}/${spec.image} (size ${img.info.size}); nothing was imported`);
        }
      }
      for (const { ev } of events) if (ev) await img.apply(ev);
      await img.flush();
      return { entries: d.value.entries.length };
    });
  },
});
