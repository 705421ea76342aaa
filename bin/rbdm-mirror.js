#!/usr/bin/env node
// Entry shim: the compiled daemon lives in dist/ (built by `npm ci` / `npm run build`).
import { main } from '../dist/host/main.js';

process.exitCode = await main(process.argv.slice(2));
