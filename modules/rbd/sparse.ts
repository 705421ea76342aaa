/**
 * Finding the data in a buffer: import skips all-zero blocks so holes stay holes in the
 * image, export skips them so they stay holes in the file.
 */

let zeros = Buffer.alloc(0);

/** Whether every byte is zero (memcmp against a shared zero buffer). */
export function isZero(buf: Uint8Array): boolean {
  if (zeros.length < buf.length) zeros = Buffer.alloc(Math.max(buf.length, 64 * 1024));
  return Buffer.compare(buf, zeros.subarray(0, buf.length)) === 0;
}

/** `[start, end)` ranges of `buf` made of blocks that are not all zero, adjacent ones merged. */
export function dataRuns(buf: Uint8Array, blockSize: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let pos = 0; pos < buf.length; pos += blockSize) {
    const end = Math.min(pos + blockSize, buf.length);
    if (isZero(buf.subarray(pos, end))) continue;
    const prev = runs[runs.length - 1];
    if (prev && prev[1] === pos) prev[1] = end;
    else runs.push([pos, end]);
  }
  return runs;
}
