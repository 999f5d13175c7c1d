#!/bin/sh
# Stand-in for Prisma's native schema engine, which cannot be downloaded here.
# `prisma generate` only checks that the file exists; nothing should run it.
echo "The Prisma schema engine is not available; migrations are applied by src/db/migrate.ts" >&2
exit 1
