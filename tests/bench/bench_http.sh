#!/usr/bin/env bash
# HTTP benchmarks of jitsudod with wrk on loopback, 64 connections: GET /healthz (the
# library's ceiling), GET one request, POST a request (policy evaluation, durable commit,
# audit), and the server's RSS with 100,000 requests stored. Prints one line per number.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=build/jitsudod
DURATION=${BENCH_SECONDS:-8}
STORED=${BENCH_STORED:-100000}
T=$(mktemp -d /tmp/jitsudo-bench.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$T"' EXIT

$BIN init --dir "$T" --data-dir "$T/data" --http-addr 127.0.0.1:$PORT >/dev/null
mkdir -p "$T/policies"
cat >"$T/policies/eligibility.rego" <<'REGO'
package jitsudo.eligibility
import rego.v1
default allow := false
allow if {
	"sre" in input.user.groups
	input.request.duration_seconds <= 14400
}
reason := "only sre may request" if not allow
REGO
cat >"$T/policies/approval.rego" <<'REGO'
package jitsudo.approval
import rego.v1
default allow := false
allow if "sre-leads" in input.user.groups
REGO
sed -i "s|^\(\s*dir:\).*|\1 $T/policies|" "$T/jitsudod.yaml"
grep -q "$T/policies" "$T/jitsudod.yaml" || { echo "bench: could not set policies.dir"; exit 1; }

$BIN --config "$T/jitsudod.yaml" 2>"$T/server.log" &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done
TOKEN=$($BIN token --config "$T/jitsudod.yaml" --user alice@example.com --groups sre --ttl 1h)
API="http://127.0.0.1:$PORT/api/v1alpha1"
BODY='{"provider":"aws","role":"prod-admin","resource_scope":"123456789012","duration_seconds":3600,"reason":"bench"}'
ID=$(curl -sf -H "Authorization: Bearer $TOKEN" -d "$BODY" "$API/requests" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["request"]["id"])')

cat >"$T/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
cat >"$T/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
LUA

run_wrk() { # name, url, [script]
	local out
	out=$(wrk -t2 -c64 -d"${DURATION}s" --latency ${3:+-s "$3"} "$2")
	local rps p99 non2xx
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
	printf '%-22s %10s req/s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p99" "${non2xx:-0}"
	echo "$rps" >"$T/$1.rps"
}
run_wrk healthz "http://127.0.0.1:$PORT/healthz"
run_wrk get-request "$API/requests/$ID" "$T/get.lua"
run_wrk post-request "$API/requests" "$T/post.lua"
awk -v g="$(cat "$T/get-request.rps")" -v h="$(cat "$T/healthz.rps")" \
	'BEGIN { printf "get-request / healthz  %.0f%% (bar 40%%)\n", 100 * g / h }'

# Fill the store to STORED requests (the POST run above added many), then read the RSS.
have=$(sqlite3 "$T/data/jitsudo.db" 'select count(*) from requests' 2>/dev/null || echo 0)
if [ "$have" -lt "$STORED" ]; then
	wrk -t2 -c64 -d600s -s "$T/post.lua" "$API/requests" >/dev/null &
	WRK=$!
	while [ "$(sqlite3 "$T/data/jitsudo.db" 'select count(*) from requests')" -lt "$STORED" ]; do
		sleep 1
	done
	kill $WRK; wait $WRK 2>/dev/null || true
fi
curl -sf -H "Authorization: Bearer $TOKEN" "$API/requests?page_size=1000&mine=true" >/dev/null
# /healthz while 32 connections of a user with no groups query the audit log (a policy check
# per event they may not see): the scans run on reader threads with a bounded cost, so the
# event loops stay free. The figure is healthz's p99 under that load (bar 50 ms).
NOBODY=$($BIN token --config "$T/jitsudod.yaml" --user nobody@example.com --ttl 1h)
cat >"$T/audit.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $NOBODY"
LUA
wrk -t1 -c32 -d"$((DURATION + 2))s" -s "$T/audit.lua" "$API/audit?page_size=1000" \
	>"$T/audit.out" &
LOAD=$!
sleep 1
run_wrk healthz-under-audit "http://127.0.0.1:$PORT/healthz"
wait $LOAD
printf '%-22s %10s req/s\n' "audit-scans (load)" "$(awk '/Requests\/sec/ {print $2}' "$T/audit.out")"
awk -v u="$(cat "$T/healthz-under-audit.rps")" -v h="$(cat "$T/healthz.rps")" \
	'BEGIN { printf "healthz under audit / healthz  %.0f%%\n", 100 * u / h }'

echo "stored requests        $(sqlite3 "$T/data/jitsudo.db" 'select count(*) from requests')"
echo "server RSS             $(awk '/VmRSS/ {print $2, $3}' /proc/$PID/status) (bar 40 MB)"
echo "database check         $(sqlite3 "$T/data/jitsudo.db" 'pragma quick_check' 2>&1 | head -n 3)"
