#!/usr/bin/env bash
# htmx 2 reads `data-hx-*` as well as `hx-*`, and only the former is valid
# HTML. Renames every `hx-*` attribute in the templates to `data-hx-*`.
# Idempotent: run it again after a merge brings in new templates.
set -euo pipefail
cd "$(dirname "$0")/.."
find templates -name '*.html' -print0 |
  xargs -0 sed -E -i 's/(^|[[:space:]])hx-([a-z-]+=)/\1data-hx-\2/g'
# Anything left (an attribute at an odd place) is reported, not guessed at.
if grep -rnE '(^|[^-a-z])hx-[a-z-]+=' templates; then
  echo "hx-* attributes left above: rename them by hand" >&2
  exit 1
fi
