#!/usr/bin/env bash
# Write the development settings `make run` uses to a .env file (default: .env in the checkout),
# so `.venv/bin/python manage.py ...` in a new shell talks to the same database, Redis and ports
# with DEBUG on. gateway/settings.py reads the file when present; the process environment always
# wins over it. Rewritten by every `make run`: put lasting changes in the environment instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:-$ROOT/.env}"

{
  echo "# Development values written by \`make run\` ($(date -u +%Y-%m-%dT%H:%M:%SZ)); overwritten on the next run."
  for name in DEBUG DATABASE_URL REDIS_URL PORT SANDBOX_PORT SANDBOX_URL PUBLIC_BASE_URL; do
    value="${!name:?$name must be set (the Makefile exports it)}"
    printf "%s='%s'\n" "$name" "$value"
  done
} > "$TARGET.tmp"
mv "$TARGET.tmp" "$TARGET"
echo "[env] wrote $TARGET"
