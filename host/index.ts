/**
 * The host's public API: the only file modules import from (modules never import each
 * other's files or a backend).
 */
export { Type } from './vendor/typebox.js';
export type { Static, TSchema, TObject } from '@sinclair/typebox';
export * from './errors.js';
export type * from './cluster/store.js';
export { MAX_OBJECT_SIZE, MAX_WRITE_SIZE, DEFAULT_NOTIFY_TIMEOUT_MS } from './cluster/store.js';
export type { ConfView } from './cluster/conf-view.js';
export type { Logger } from './runtime/logger.js';
export * from './runtime/module-manifest.js';
export * from './util/size.js';
export { formatKeyring } from './cluster/keyring.js';
export { threadIoctx } from './cluster/thread-connection.js';
