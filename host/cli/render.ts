/**
 * Renders a command's result: JSON (rbd's keys; `--pretty-format` indents 4 spaces like
 * rbd's json-pretty) or the command's plain layout. Void results print nothing (the Rule of
 * Silence).
 */
import type { CommandDecl } from '../runtime/module-manifest.js';

export function renderResult(result: unknown, decl: CommandDecl, args: Record<string, unknown>, format: 'plain' | 'json', pretty: boolean): string {
  if (result === undefined) return '';
  if (format === 'json' || !decl.render) {
    if (format === 'plain' && typeof result === 'string') return ensureNewline(result);
    return `${JSON.stringify(result, null, pretty ? 4 : undefined)}\n`;
  }
  return ensureNewline(decl.render(result as never, args as never));
}

function ensureNewline(s: string): string {
  return s === '' || s.endsWith('\n') ? s : `${s}\n`;
}
