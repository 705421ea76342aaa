/**
 * Read access to a cluster's conf, as ceph.conf is read: a key is looked up in
 * `[client.ID]`, then `[client]`, then `[global]`; spaces, dashes and underscores in keys are
 * the same (`rbd default features` = `rbd_default_features`).
 */
export interface ConfView {
  /** Cluster name (`--cluster`). */
  readonly clusterName: string;
  /** Path of the conf file, or '' when none was read. */
  readonly path: string;
  /** Directory that holds the conf and keyrings of every cluster (`$RBDM_CONF_DIR`). */
  readonly dir: string;
  /** The entity the process runs as, e.g. `client.admin`. */
  readonly entity: string;
  get(key: string): string | undefined;
}

/** Normalizes a conf key: lowercase, runs of spaces/dashes/underscores become one `_`. */
export function normalizeConfKey(key: string): string {
  return key.trim().toLowerCase().replace(/[\s_-]+/g, '_');
}
