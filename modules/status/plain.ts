/** rbd's plain layouts of `mirror image status` (043, 049, 252) and `mirror pool status` (036, 052, 255). */
import type { DaemonJson, ImageStatusJson, PoolStatusJson } from './json.js';

export function imageLines(j: ImageStatusJson): string[] {
  const lines = [
    `${j.name}:`,
    `  global_id:   ${j.global_id}`,
    `  state:       ${j.state}`,
    `  description: ${j.description}`,
  ];
  if (j.daemon_service) lines.push(`  service:     ${j.daemon_service.daemon_id} on ${j.daemon_service.hostname}`);
  lines.push(`  last_update: ${j.last_update}`);
  if (j.peer_sites && j.peer_sites.length > 0) {
    lines.push('  peer_sites:');
    j.peer_sites.forEach((p, i) => {
      if (i > 0) lines.push('');
      lines.push(`    name: ${p.site_name}`, `    state: ${p.state}`, `    description: ${p.description}`, `    last_update: ${p.last_update}`);
    });
  }
  return lines;
}

function daemonLines(d: DaemonJson): string[] {
  const lines = [
    `service ${d.service_id}:`, `  instance_id: ${d.instance_id}`, `  client_id: ${d.client_id}`, `  hostname: ${d.hostname}`,
    `  version: ${d.ceph_version}`, `  leader: ${d.leader}`, `  health: ${d.health}`,
  ];
  if (d.callouts && d.callouts.length > 0) lines.push(`  callouts: ${d.callouts.join(', ')}`);
  return lines;
}

export function renderImage(j: ImageStatusJson): string {
  return `${imageLines(j).join('\n')}\n`;
}

export function renderPool(j: PoolStatusJson): string {
  const s = j.summary;
  const total = Object.values(s.states).reduce((a, b) => a + b, 0);
  const lines = [`health: ${s.health}`, `daemon health: ${s.daemon_health}`, `image health: ${s.image_health}`, `images: ${total} total`];
  for (const [state, n] of Object.entries(s.states)) lines.push(`    ${n} ${state}`);
  // rbd stops at the counts; rbdm says why images are unknown instead of leaving it a mystery.
  for (const [reason, n] of Object.entries(s.unknown_reasons ?? {})) lines.push(`    (${n} unknown: ${reason})`);
  if (j.daemons && j.images) {
    lines.push('', 'DAEMONS');
    if (j.daemons.length === 0) lines.push('  none: no rbdm-mirror daemon has reported to this pool');
    j.daemons.forEach((d, i) => { if (i > 0) lines.push(''); lines.push(...daemonLines(d)); });
    lines.push('', '', 'IMAGES');
    j.images.forEach((img, i) => { if (i > 0) lines.push(''); lines.push(...imageLines(img)); });
  }
  return `${lines.join('\n')}\n`;
}
