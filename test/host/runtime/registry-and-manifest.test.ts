// In-process checks of the manifest checker, dependency ordering, the command registry and
// the validator: the pieces that decide whether a module is refused.
import t from 'tap';
import { Type } from '@sinclair/typebox';
import { HostError } from '../../../host/errors.js';
import { CommandRegistry } from '../../../host/runtime/command-registry.js';
import { checkManifest, orderByDependencies, type LoadedManifest } from '../../../host/runtime/module-loader.js';
import { defineCommand, type ModuleManifest } from '../../../host/runtime/module-manifest.js';
import { SchemaCompiler } from '../../../host/runtime/validator.js';

const cmd = (prefix: string) => defineCommand({ prefix, desc: 'd', perm: 'r', args: Type.Object({}), handler: async () => undefined });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof HostError ? `${e.code}/${e.errno}` : `not a HostError: ${String(e)}`;
  }
  return 'no error';
}

t.test('checkManifest refuses malformed manifests with ERR_MODULE_MANIFEST', async (t) => {
  t.equal(code(() => checkManifest('x', undefined)), 'ERR_MODULE_MANIFEST/EINVAL');
  t.equal(code(() => checkManifest('x', { name: 'y', hostApi: '^1' })), 'ERR_MODULE_MANIFEST/EINVAL', 'name must equal folder');
  t.equal(code(() => checkManifest('x', { name: 'x', hostApi: 'banana' })), 'ERR_MODULE_MANIFEST/EINVAL');
  t.equal(code(() => checkManifest('x', { name: 'x', hostApi: '^2' })), 'ERR_MODULE_API_MISMATCH/EINVAL');
  t.equal(code(() => checkManifest('x', { name: 'x', hostApi: '^1', init: 'nope' })), 'ERR_MODULE_MANIFEST/EINVAL');
  t.equal(code(() => checkManifest('x', { name: 'x', hostApi: '^1', commands: [{ prefix: 'a', perm: 'r', args: { type: 'object' }, handler: () => 1 }] })), 'ERR_MODULE_MANIFEST/EINVAL', 'desc required');
  t.equal(code(() => checkManifest('x', { name: 'x', hostApi: '^1', commands: [{ prefix: 'a', desc: 'd', perm: 'x', args: { type: 'object' }, handler: () => 1 }] })), 'ERR_MODULE_MANIFEST/EINVAL', 'perm');
  t.equal(code(() => checkManifest('x', { name: 'x', hostApi: '^1', options: { BadName: { schema: {} } } })), 'ERR_MODULE_MANIFEST/EINVAL');
  t.equal(code(() => checkManifest('x', { name: 'x', hostApi: '>=1.0.0 <2', commands: [cmd('x run')] })), 'no error');
});

t.test('orderByDependencies: order, missing dependencies, cycles', async (t) => {
  const m = (name: string, dependencies: string[] = []): LoadedManifest => ({
    dir: name, path: `/m/${name}`, builtin: false, manifest: { name, hostApi: '^1', dependencies } as ModuleManifest,
  });
  const { ordered, refused } = orderByDependencies([m('c', ['b']), m('b', ['a']), m('a'), m('d', ['zz']), m('e', ['d']), m('x', ['y']), m('y', ['x'])]);
  t.same(ordered.map((o) => o.manifest.name), ['a', 'b', 'c']);
  t.same(refused.map((r) => r.name).sort(), ['d', 'e', 'x', 'y']);
  t.match(refused.find((r) => r.name === 'e')?.error.message, /depends on 'd', which is refused/);
  t.match(refused.find((r) => r.name === 'd')?.error.message, /depends on 'zz', which is not available/);
});

t.test('CommandRegistry: clashes refuse the whole module', async (t) => {
  const reg = new CommandRegistry();
  const compiler = new SchemaCompiler();
  reg.registerModule('a', [cmd('pool create'), cmd('pool ls')], compiler);
  t.equal(code(() => reg.registerModule('b', [cmd('b one'), cmd('pool ls')], compiler)), 'ERR_MODULE_PREFIX_CLASH/EEXIST');
  t.equal(reg.get('b one'), undefined, 'nothing of the refused module stays registered');
  t.equal(code(() => reg.registerModule('c', [cmd('pool')], compiler)), 'ERR_MODULE_PREFIX_CLASH/EEXIST', 'a command that is also a group');
  t.equal(code(() => reg.registerModule('d', [cmd('Pool Up')], compiler)), 'ERR_MODULE_MANIFEST/EINVAL');
  t.equal(code(() => reg.registerModule('e', [{ ...cmd('e x'), positional: ['nope'] }], compiler)), 'ERR_MODULE_MANIFEST/EINVAL');
  t.equal(code(() => reg.registerModule('f', [cmd('f x'), { ...cmd('f y'), aliases: ['f x'] }], compiler)), 'ERR_MODULE_PREFIX_CLASH/EEXIST', 'clash inside one module');
  reg.registerModule('g', [{ ...cmd('g list'), aliases: ['g ls'] }], compiler);
  t.equal(reg.get('g ls')?.decl.prefix, 'g list');
  t.equal(reg.list().filter((c) => c.module === 'g').length, 1, 'aliases fold in listings');
  reg.unregisterModule('a');
  t.equal(reg.get('pool ls'), undefined);
});

t.test('validator: coercion, defaults, messages, schema typos caught at compile', async (t) => {
  const compiler = new SchemaCompiler();
  const v = compiler.compile(Type.Object({
    mode: Type.Union([Type.Literal('image'), Type.Literal('pool')]),
    n: Type.Optional(Type.Integer({ minimum: 1, default: 4 })),
    flag: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }), 'mirror pool enable');
  const a: Record<string, unknown> = { mode: 'pool', flag: 'true' };
  v(a);
  t.same(a, { mode: 'pool', n: 4, flag: true }, 'defaults applied and strings coerced');
  let caught: HostError | undefined;
  try {
    v({ mode: 'bogus', n: '0', extra: 1 });
  } catch (e) {
    caught = e as HostError;
  }
  t.equal(caught?.errno, 'EINVAL');
  t.match(caught?.message, /unknown argument 'extra'/);
  t.match(caught?.message, /argument 'n' must be >= 1/);
  t.ok(caught?.message.split('\n').every((l) => l.startsWith('mirror pool enable: ')), 'every line names the command');
  t.throws(() => v({}), /missing required argument 'mode'/);
  t.equal(code(() => compiler.compile({ type: 'object', properties: { a: { type: 'string', minLenght: 1 } } } as never, 'typo')), 'ERR_MODULE_MANIFEST/EINVAL');
});
