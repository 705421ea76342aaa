#!/bin/sh
# The application lives in /usr/lib/rbdm and runs on the system's Node.js.
exec /usr/bin/node /usr/lib/rbdm/bin/rbdm-mirror.js "$@"
