/**
 * Worker-thread body for ceph-store.test.ts: the addon inside a worker (context-aware).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rados } from 'ceph-napi';

const d = workerData as { name: string; conf: string; keyring: string };
const r = new Rados(d.name, 'client.admin');
r.confReadFile(d.conf);
r.confSet('keyring', d.keyring);
await r.connect();
const io = await r.openIoCtx('addon');
await io.writeFull('from-worker', Buffer.from('hello from a worker'));
const back = (await io.read('from-worker', 0, 100)).toString();
await io.close();
await r.shutdown();
parentPort?.postMessage(back);
