#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456 node --max-semi-space-size=2
// Entry shim: the compiled daemon lives in dist/ (built by `npm ci` / `npm run build`).
// Node flags on the first line: V8's young generation stays small (2 MiB semi-spaces, not 16),
// so replay's dead payload buffers are found by frequent scavenges instead of piling up (the
// replay figures in modules/replay/README.md). glibc's malloc keeps freed buffers of up to
// 32 MiB in its arenas, mapped, instead of giving each back to the kernel: replay's 2 MiB
// journal reads otherwise fault in fresh pages for every copy (1 MiB replay 133 -> 175 MiB/s,
// 256 MiB catch-up 2.6-2.9 -> 1.9-2.1 s). The packaged wrapper (packaging/etc/rbdm-mirror.sh)
// and the tests (test/harness/cli.ts) use the same environment and flags.
import { main } from '../dist/host/main.js';

process.exitCode = await main(process.argv.slice(2));
