#!/bin/sh
# The application lives in /usr/lib/rbdm and runs on the system's Node.js, with the environment
# and node flags of bin/rbdm-mirror.js's first line (test/host/daemon-node-flags.test.ts checks
# they match).
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456
exec /usr/bin/node --max-semi-space-size=2 /usr/lib/rbdm/bin/rbdm-mirror.js "$@"
