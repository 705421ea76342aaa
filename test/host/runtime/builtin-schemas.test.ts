/**
 * Built-in modules' schemas compile on first use, in the daemon too (host.ts `lazySchemas`):
 * this test is where they are all checked, as a third-party module's are when it loads
 * (strict mode and JSON Schema's meta-schema). And a third-party module with a bad schema is
 * still refused when the daemon loads it, never accepted to fail on its first command.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Host } from '../../../host/runtime/host.js';
import { hostModule } from '../../../host/runtime/host-commands.js';
import { builtinModulesDir, findModules, readManifest } from '../../../host/runtime/module-loader.js';
import type { ModuleManifest } from '../../../host/runtime/module-manifest.js';
import { SchemaCompiler } from '../../../host/runtime/validator.js';
import { Type } from '../../../host/index.js';
import { TestClusters } from '../../harness/cli.js';

t.test('every built-in schema compiles with the full check', async (t) => {
  const host = new Host({ clusterName: 'none', entity: 'client.admin' });
  const manifests: ModuleManifest[] = [hostModule(host)];
  for (const found of findModules([builtinModulesDir()], true)) {
    const m = await readManifest(found);
    if ('error' in m) throw m.error;
    manifests.push(m.manifest);
  }
  t.ok(manifests.length >= 9, `${manifests.length} built-in manifests`);
  const compiler = new SchemaCompiler(); // metaCheck on, as for a third-party module
  let n = 0;
  for (const m of manifests) {
    for (const c of m.commands ?? []) {
      compiler.compile(c.args, `${m.name}: ${c.prefix}`);
      n++;
      if (c.result) {
        compiler.compile(c.result, `${m.name}: ${c.prefix} result`);
        n++;
      }
    }
    for (const [opt, decl] of Object.entries(m.options ?? {})) {
      const v = compiler.compile(Type.Object({ [opt]: decl.schema }), `${m.name}/${opt}`);
      const box: Record<string, unknown> = {};
      v(box); // the declared default satisfies its own schema
      n++;
    }
  }
  t.ok(n > 80, `${n} schemas compiled`);
  // The check is real: a typo'd keyword and a bad type are refused.
  t.throws(() => compiler.compile({ type: 'object', propertys: {} } as never, 'typo'), /invalid schema/);
  t.throws(() => compiler.compile({ type: 'strin' } as never, 'bad type'), /invalid schema/);
  t.throws(() => compiler.compile({ type: 'string', minLength: -1 } as never, 'meta'), /invalid schema/);
});

t.test('the daemon refuses a third-party module whose schema is bad, when it loads', async (t) => {
  const c = new TestClusters('rbdm-schemas-');
  t.teardown(() => c.cleanup());
  await c.create('local');
  const dir = join(c.dir, 'modules');
  mkdirSync(join(dir, 'bad-schema'), { recursive: true });
  writeFileSync(join(dir, 'bad-schema', 'package.json'), '{ "type": "module" }\n');
  const hostIndex = new URL('../../../host/index.js', import.meta.url).href;
  writeFileSync(join(dir, 'bad-schema', 'index.js'), `import { defineModule } from ${JSON.stringify(hostIndex)};
export default defineModule({
  name: 'bad-schema', hostApi: '^1', desc: 'a module with a bad schema',
  commands: [{ prefix: 'bad go', desc: 'x', perm: 'r', args: { type: 'object', properties: { count: { type: 'integer', minimum: 'one' } } }, handler: () => 'ran' }],
});
`);
  const env = { ...c.env, RBDM_MODULE_PATH: dir };
  const on = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'enable', 'bad-schema'], { env });
  t.equal(on.code, 0, `enabled through the CLI, which compiles on first use: ${on.stderr}`);
  const go = await c.rbdm(['--cluster', 'local', 'bad', 'go', '--count', '1'], { env });
  t.same([go.code, go.stdout], [22, ''], 'the CLI refuses the command when it compiles its schema');
  t.match(go.stderr, /^rbdm: bad go: invalid schema: /);

  const host = new Host({ clusterName: 'local', entity: 'client.admin', env: { ...process.env, ...env } });
  t.teardown(() => host.shutdown());
  await host.init();
  await host.loadModules();
  t.match(host.refused.find((r) => r.name === 'bad-schema')?.error.message, /invalid schema/, 'the daemon refuses it at load');
  t.equal(host.registry.get('bad go'), undefined, 'and registers none of its commands');
  t.ok(host.registry.get('mirror pool enable'), 'built-in commands are registered (compiled on first use)');
});
