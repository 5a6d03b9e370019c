#!/usr/bin/env bash
# The portal over HTTP on generated data: fills a database with the project's
# `bench` binary (cached per backend and size), starts the portal on it, signs
# in as the bench partner or operations user and drives the real pages with
# wrk, printing req/s, p50 and p99 per page.
#
#   cargo build --release --bins
#   bench/http.sh                                  # SQLite, partner, 100,000 accounts, 1,000,000 orders
#   AS=ops BACKEND=postgres bench/http.sh
#   ACCOUNTS=10000 ORDERS=10000 bench/http.sh      # another size (flatness: compare sizes)
#
# Knobs: BACKEND (sqlite|postgres), ACCOUNTS, ORDERS, AS (partner|ops), DEEP (pages walked for the
# deep page, 20), Q (search text, "ac"), THREADS (2), CONNS (16), WARMUP (2s), DURATION (5s), PORT (8190),
# WORKDIR (${TMPDIR:-/tmp}/portal-http-bench), PG_ADMIN (postgres://postgres@127.0.0.1:5432), BIN_DIR (target/release).
# The bench users sign in with their password: two-step sign-in is optional for operations here.
# For the ratios against the minimal server on the same stack, see ../shared/bench (portal.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BACKEND=${BACKEND:-sqlite}
ACCOUNTS=${ACCOUNTS:-100000}
ORDERS=${ORDERS:-1000000}
AS=${AS:-partner}
DEEP=${DEEP:-20}
Q=${Q:-ac}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
WARMUP=${WARMUP:-2s}
DURATION=${DURATION:-5s}
PORT=${PORT:-8190}
WORKDIR=${WORKDIR:-${TMPDIR:-/tmp}/portal-http-bench}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432}
URL=http://127.0.0.1:$PORT
BIN_DIR=$(cd "${BIN_DIR:-$ROOT/target/release}" && pwd)
PORTAL=$BIN_DIR/smart-account-portal
BENCH=$BIN_DIR/bench
case $AS in partner) EMAIL=bench@partner.example ;; ops) EMAIL=bench@ops.example ;; *) echo "AS=partner|ops" >&2; exit 1 ;; esac
for b in "$PORTAL" "$BENCH"; do [[ -x $b ]] || { echo "missing $b: cargo build --release --bins" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 1; }
mkdir -p "$WORKDIR"
TAG=$BACKEND-a$ACCOUNTS-o$ORDERS
log() { echo "[http.sh $(date +%T)] $*" >&2; }

if [[ $BACKEND == sqlite ]]; then DB=$WORKDIR/$TAG.db; else DB=$PG_ADMIN/portal_http_a${ACCOUNTS}_o${ORDERS}; fi
if [[ ! -f $WORKDIR/$TAG.ok ]]; then
  log "generating $TAG with the bench binary…"
  if [[ $BACKEND == sqlite ]]; then
    rm -f "$DB" "$DB-wal" "$DB-shm"
  else
    psql "$PG_ADMIN/postgres" -qAtc "DROP DATABASE IF EXISTS portal_http_a${ACCOUNTS}_o${ORDERS}"
    psql "$PG_ADMIN/postgres" -qAtc "CREATE DATABASE portal_http_a${ACCOUNTS}_o${ORDERS}"
  fi
  "$BENCH" --accounts "$ACCOUNTS" --orders "$ORDERS" --pages 5 --iterations 20 --database-url "$DB" >"$WORKDIR/gen-$TAG.log" 2>&1
  touch "$WORKDIR/$TAG.ok"
fi

DATA=$WORKDIR/data-$TAG
mkdir -p "$DATA"
(cd "$DATA" && exec env DATABASE_URL="$DB" DATA_DIR="$DATA" BIND=127.0.0.1:$PORT REMINDER_DAYS=off TWO_STEP_FOR_OPERATIONS=optional RUST_LOG=${PORTAL_RUST_LOG:-warn} \
  "$PORTAL" serve >"$WORKDIR/portal-$TAG.log" 2>&1) &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz") == 200 ]] && break
  kill -0 $PID 2>/dev/null || { tail -20 "$WORKDIR/portal-$TAG.log" >&2; exit 1; }
  sleep 0.1
done

JAR=$WORKDIR/jar-$TAG-$AS
rm -f "$JAR"
csrf=$(curl -s -c "$JAR" -b "$JAR" "$URL/sign-in" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
code=$(curl -s -o /dev/null -w '%{http_code}' -c "$JAR" -b "$JAR" --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "email=$EMAIL" --data-urlencode "password=benchmark password" "$URL/sign-in")
[[ $code == 303 ]] || { echo "sign-in as $EMAIL answered $code" >&2; exit 1; }
COOKIE="portal_session=$(awk -F'\t' '$6=="portal_session"{print $7}' "$JAR")"
get() { curl -s -H "Cookie: $COOKIE" "$@"; }
next_link() { grep -o '<a href="[^"]*" rel="next">' | head -1 | sed 's/<a href="//; s/" rel="next">//; s/&amp;/\&/g; s/&#38;/\&/g'; }

# A deep page (DEEP pages in, through the cursor links) and an order of the list whose assignments this user may change.
deep=/smart-account-orders
for ((i = 1; i < DEEP; i++)); do
  deep=$(get -H 'HX-Request: true' "$URL$deep" | next_link)
  [[ -n $deep ]] || { echo "no next link after page $i" >&2; exit 1; }
done
order=
for id in $( (get "$URL/smart-account-orders?sa=not_assigned"; get "$URL/smart-account-orders") | grep -o 'href="/orders/[0-9]*/assignment' | grep -o '[0-9]\+' | awk '!s[$0]++' | head -20); do
  if [[ $(get -o /dev/null -w '%{http_code}' -H 'HX-Request: true' "$URL/orders/$id/assignment?target=order&q=$Q") == 200 ]]; then
    order=$id
    break
  fi
done
[[ -n $order ]] || { echo "no order of the list is editable by $AS" >&2; exit 1; }

cat >"$WORKDIR/report.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format('%.0f %.0f %.0f %d\n', summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
EOF
measure() { # NAME PATH [wrk header args]
  local name=$1 path=$2
  shift 2
  local status
  status=$(get -o /dev/null -w '%{http_code}' "$@" "$URL$path")
  [[ $status == 200 ]] || log "warning: $name answers $status"
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -H "Cookie: $COOKIE" "$@" "$URL$path" >/dev/null
  read -r rps p50 p99 errors < <(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "Cookie: $COOKIE" -s "$WORKDIR/report.lua" "$@" "$URL$path" | tail -1)
  printf '| %-40s | %9s | %9.2f | %9.2f | %6s |\n' "$name" "$rps" "$(echo "$p50 / 1000" | bc -l)" "$(echo "$p99 / 1000" | bc -l)" "$errors"
}
echo "$TAG as $AS: wrk -t$THREADS -c$CONNS, warm-up $WARMUP, $DURATION; $(nproc) cores shared by the portal, its database and wrk"
echo "| page                                     |     req/s |   p50 ms |   p99 ms | errors |"
echo "|------------------------------------------|----------:|---------:|---------:|-------:|"
measure "/healthz" /healthz
measure "Smart Account Orders, page 1" /smart-account-orders
measure "Smart Account Orders, page $DEEP (cursor)" "$deep"
measure "order page" "/orders/$order"
measure "assignment search fragment (htmx)" "/orders/$order/assignment?target=order&q=$Q" -H 'HX-Request: true'
measure "account search fragment (htmx)" "/accounts/search?q=$Q" -H 'HX-Request: true'
measure "home" /
measure "licenses" /licenses
