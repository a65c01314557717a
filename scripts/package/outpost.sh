#!/bin/sh
# /usr/bin/outpost from the Debian package: Outpost on the Node.js runtime the package carries, whatever
# Node (if any) the host has on PATH.
exec /usr/lib/outpost/bin/node /usr/lib/outpost/dist/cli.js "$@"
