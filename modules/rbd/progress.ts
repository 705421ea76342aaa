/**
 * rbd's `ProgressContext` on stderr: `\rExporting image: 7% complete...` whenever the
 * percentage grows, then `\rExporting image: 100% complete...done.` (or `...failed.`).
 *
 * rbd prints it unless `--no-progress`; rbdm prints it only when stderr is a terminal or
 * `--progress` is given, so scripts and logs stay clean. `--no-progress` always wins.
 */
import type { CommandContext } from '../../host/index.js';

export class Progress {
  private last = 0;

  constructor(
    private readonly out: NodeJS.WritableStream | undefined,
    private readonly label: string,
  ) {}

  /** Shown for `--progress`, hidden for `--no-progress`, else shown on a terminal. */
  static forCommand(ctx: CommandContext, progress: boolean | undefined, label: string): Progress {
    const show = progress ?? ctx.io.stderrIsTTY;
    return new Progress(show ? ctx.io.stderr : undefined, label);
  }

  update(done: number, total: number): void {
    if (!this.out || total <= 0) return;
    const pc = Math.floor((done * 100) / total);
    // 100% is left to finish(), which adds `done.` (rbd's output shows it once).
    if (pc > this.last && pc < 100) {
      this.out.write(`\r${this.label}: ${pc}% complete...`);
      this.last = pc;
    }
  }

  finish(): void {
    this.out?.write(`\r${this.label}: 100% complete...done.\n`);
  }

  fail(): void {
    this.out?.write(`\r${this.label}: ${this.last}% complete...failed.\n`);
  }

  /** Runs `fn`, then prints `done.` or `failed.`. */
  async around<T>(fn: (p: Progress) => Promise<T>): Promise<T> {
    try {
      const r = await fn(this);
      this.finish();
      return r;
    } catch (e) {
      this.fail();
      throw e;
    }
  }
}
