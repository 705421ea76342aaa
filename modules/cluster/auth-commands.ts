/**
 * `auth get-or-create|get|ls|del|caps|print-key`, with `ceph auth`'s grammar and layouts:
 * caps are `SERVICE 'CAPS'` pairs; keyrings print in the keyring file format; `-o FILE`
 * writes the keyring (mode 0600) instead of printing it.
 */
import { writeFile } from 'node:fs/promises';
import { defineCommand, err, formatKeyring, Type, type AuthEntity } from '../../host/index.js';

const Entity = Type.String({ minLength: 3, description: 'entity name, e.g. client.rbd-mirror.a' });
const Caps = Type.Array(Type.String(), { description: "SERVICE 'CAPS' pairs, e.g. mon 'profile rbd' osd 'profile rbd'" });
const OutFile = Type.Optional(Type.String({ minLength: 1, description: 'write the keyring to this file' }));
const EntityRecord = Type.Object({ entity: Type.String(), key: Type.String(), caps: Type.Record(Type.String(), Type.String()) });

const SERVICES = new Set(['mon', 'osd', 'mgr', 'mds']);

/** `['mon', 'profile rbd', 'osd', 'profile rbd']` → `{mon, osd}`; EINVAL on odd counts or unknown services. */
export function capsFromPairs(words: string[]): Record<string, string> {
  if (words.length % 2 !== 0) throw err('ERR_INVALID_ARGUMENT', `caps must be SERVICE 'CAPS' pairs, got ${words.length} words`);
  const caps: Record<string, string> = {};
  for (let i = 0; i < words.length; i += 2) {
    const svc = words[i]!;
    if (!SERVICES.has(svc)) throw err('ERR_INVALID_ARGUMENT', `unknown cap service '${svc}': expected mon, osd, mgr or mds`);
    if (svc in caps) throw err('ERR_INVALID_ARGUMENT', `caps for '${svc}' given twice`);
    caps[svc] = words[i + 1]!;
  }
  return caps;
}

async function emitKeyring(e: AuthEntity, withCaps: boolean, outFile: string | undefined, stderr: NodeJS.WritableStream): Promise<string | undefined> {
  const text = formatKeyring(new Map([[e.entity, { key: e.key, caps: withCaps ? e.caps : {} }]]));
  if (outFile === undefined) return text;
  await writeFile(outFile, text, { mode: 0o600 });
  stderr.write(`exported keyring for ${e.entity}\n`);
  return undefined;
}

function renderAuthLs(rows: AuthEntity[]): string {
  const out: string[] = [];
  for (const e of rows) {
    out.push(e.entity, `\tkey: ${e.key}`);
    for (const svc of Object.keys(e.caps).sort()) out.push(`\tcaps: [${svc}] ${e.caps[svc]}`);
  }
  return out.join('\n');
}

export const authCommands = [
  defineCommand({
    prefix: 'auth get-or-create',
    desc: "Get, or create, a client with caps, and print its keyring: auth get-or-create client.X mon 'profile rbd' osd 'profile rbd'.",
    perm: 'rw',
    args: Type.Object({ entity: Entity, caps: Type.Optional(Caps), out_file: OutFile }),
    positional: ['entity', 'caps'],
    optionAliases: { o: 'out_file' },
    result: Type.String(),
    handler: async (a, ctx) => {
      const caps = capsFromPairs(a.caps ?? []);
      const e = await (await ctx.cluster()).auth.getOrCreate(a.entity, caps);
      return emitKeyring(e, false, a.out_file, ctx.io.stderr);
    },
  }),
  defineCommand({
    prefix: 'auth get',
    desc: 'Print an entity\'s keyring with its caps.',
    perm: 'r',
    args: Type.Object({ entity: Entity, out_file: OutFile }),
    positional: ['entity'],
    optionAliases: { o: 'out_file' },
    result: Type.Union([Type.String(), Type.Array(EntityRecord)]),
    handler: async (a, ctx) => {
      const e = await (await ctx.cluster()).auth.get(a.entity);
      if (ctx.format === 'json') return [e];
      return emitKeyring(e, true, a.out_file, ctx.io.stderr);
    },
  }),
  defineCommand({
    prefix: 'auth print-key',
    desc: "Print an entity's secret key only.",
    perm: 'r',
    args: Type.Object({ entity: Entity }),
    positional: ['entity'],
    result: Type.String(),
    handler: async (a, ctx) => (await (await ctx.cluster()).auth.get(a.entity)).key,
  }),
  defineCommand({
    prefix: 'auth ls',
    aliases: ['auth list'],
    desc: 'List entities with their keys and caps.',
    perm: 'r',
    args: Type.Object({}),
    result: Type.Array(EntityRecord),
    render: renderAuthLs,
    handler: async (_a, ctx) => (await (await ctx.cluster()).auth.list()).sort((x, y) => x.entity.localeCompare(y.entity)),
  }),
  defineCommand({
    prefix: 'auth del',
    aliases: ['auth rm'],
    desc: 'Remove an entity (its key stops working).',
    perm: 'rw',
    args: Type.Object({ entity: Entity }),
    positional: ['entity'],
    handler: async (a, ctx) => {
      await (await ctx.cluster()).auth.remove(a.entity);
      ctx.io.stderr.write('updated\n');
      return undefined;
    },
  }),
  defineCommand({
    prefix: 'auth caps',
    desc: "Replace an entity's caps: auth caps client.X mon 'profile rbd' osd 'profile rbd pool=a'.",
    perm: 'rw',
    args: Type.Object({ entity: Entity, caps: Caps }),
    positional: ['entity', 'caps'],
    handler: async (a, ctx) => {
      await (await ctx.cluster()).auth.setCaps(a.entity, capsFromPairs(a.caps));
      ctx.io.stderr.write(`updated caps for ${a.entity}\n`);
      return undefined;
    },
  }),
];
