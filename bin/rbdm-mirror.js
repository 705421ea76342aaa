#!/usr/bin/env -S node --max-semi-space-size=2
// Entry shim: the compiled daemon lives in dist/ (built by `npm ci` / `npm run build`).
// Node flags on the first line: V8's young generation stays small (2 MiB semi-spaces, not 16),
// so replay's dead payload buffers are found by frequent scavenges instead of piling up (the
// replay figures in modules/replay/README.md). The packaged wrapper (packaging/etc/rbdm-mirror.sh)
// and the tests pass the same flags.
import { main } from '../dist/host/main.js';

process.exitCode = await main(process.argv.slice(2));
