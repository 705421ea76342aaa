/**
 * Module `cluster`: pool and auth administration (what `ceph osd pool` and `ceph auth` do
 * for rbd users). Thin facade: handlers delegate to pool-commands.ts and auth-commands.ts.
 */
import { defineModule } from '../../host/index.js';
import { poolCommands } from './pool-commands.js';
import { authCommands } from './auth-commands.js';

export default defineModule({
  name: 'cluster',
  hostApi: '^1',
  desc: 'pools and auth entities of the cluster',
  commands: [...poolCommands, ...authCommands],
});
