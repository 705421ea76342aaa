#!/usr/bin/env node
// Entry shim: the compiled CLI lives in dist/ (built by `npm ci` / `npm run build`).
import { main } from '../dist/host/cli/main.js';

// Exit explicitly: output is flushed by main(), and a one-shot CLI must not linger.
process.exit(await main(process.argv.slice(2)));
