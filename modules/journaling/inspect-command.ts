/**
 * `journal inspect [--verbose]`: reads every surviving entry, verifies each frame's CRC32C
 * and payload, and reports corrupt entries and entries past a gap (never replayed). With
 * --verbose every entry is listed (rbd's JournalInspector prints `Entry: tag_id=…, commit_tid=…`).
 */
import { defineCommand, Type } from '../../host/index.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, withJournal } from './command-support.js';
import { readJournal, poolDecode } from './journal-reader.js';

const Entry = Type.Object({
  tag_tid: Type.Integer(), entry_tid: Type.Integer(), object_number: Type.Integer(), offset: Type.Integer(),
  size: Type.Integer(), event: Type.Record(Type.String(), Type.Unknown()),
});
const Problem = Type.Object({
  object_number: Type.Integer(), offset: Type.Integer(), tag_tid: Type.Optional(Type.Integer()),
  entry_tid: Type.Optional(Type.Integer()), error: Type.String(),
});

const Result = Type.Object({
  entries_inspected: Type.Integer(),
  errors: Type.Integer(),
  corrupt_entries: Type.Array(Problem),
  /** Entries after a gap in their tag: appended by a writer that died, never acknowledged. */
  unreplayable_entries: Type.Array(Entry),
  entries: Type.Optional(Type.Array(Entry)),
});

export const journalInspectCommand = defineCommand({
  prefix: 'journal inspect',
  desc: 'Inspect image journal for structural errors.',
  perm: 'r',
  args: Type.Object({ ...imageSpecArgs, verbose: Type.Optional(Type.Boolean({ description: 'list every entry' })) }),
  positional: ['image_spec'],
  optionAliases: imageSpecAliases,
  result: Result,
  render: (r) => {
    const lines: string[] = [];
    for (const e of r.entries ?? []) lines.push(`Entry: tag_id=${e.tag_tid}, commit_tid=${e.entry_tid}`, JSON.stringify(e.event, null, 4));
    for (const c of r.corrupt_entries) {
      lines.push(`corrupt entry at object ${c.object_number} offset ${c.offset}${c.tag_tid !== undefined ? ` (tag_tid=${c.tag_tid}, entry_tid=${c.entry_tid})` : ''}: ${c.error}`);
    }
    for (const e of r.unreplayable_entries) {
      lines.push(`entry after a gap (never replayed): tag_tid=${e.tag_tid}, entry_tid=${e.entry_tid}, object ${e.object_number}`);
    }
    lines.push('Summary:', `  ${r.entries_inspected} entries inspected`, `  ${r.errors} errors`, '');
    return lines.join('\n');
  },
  handler: async (a, ctx) => withJournal(ctx, imageSpec(ctx, a), async (j) => {
    const r = await readJournal(j, undefined, { decode: poolDecode(ctx.pool) });
    const entry = (e: (typeof r.all)[number]) => ({
      tag_tid: e.tagTid, entry_tid: e.entryTid, object_number: e.objectNumber, offset: e.offset, size: e.size, event: e.event,
    });
    return {
      entries_inspected: r.all.length + r.corrupt.length,
      errors: r.corrupt.length,
      corrupt_entries: r.corrupt.map((c) => ({
        object_number: c.objectNumber, offset: c.offset, error: c.reason,
        ...(c.tagTid !== undefined ? { tag_tid: c.tagTid } : {}), ...(c.entryTid !== undefined ? { entry_tid: c.entryTid } : {}),
      })),
      unreplayable_entries: r.skipped.map(entry),
      ...(a.verbose ? { entries: r.all.map(entry) } : {}),
    };
  }),
});
