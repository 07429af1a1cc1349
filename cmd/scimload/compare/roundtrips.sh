#!/usr/bin/env bash
# The Redis commands each kind of SCIM request sends (MONITOR, script-internal
# calls left out), per request, scimd built from git revision REV on a Redis of
# its own, after a warm-up request (scripts loaded, token cached). Needs
# redis-server, redis-cli, curl and python3.
#
#   bash cmd/scimload/compare/roundtrips.sh [REV]
set -euo pipefail
rev=${1:-main}
cd "$(dirname "$0")/../../.."
source cmd/scimload/compare/lib.sh
bench_work scimd-rt
build "$rev" scimd
rp=$(free_port); pa=$(free_port)
redis-server --bind 127.0.0.1 --port "$rp" --dir "$work" --save "" >"$work/redis.log" 2>&1 & pids+=($!)
sleep 0.5
# The access resolver off (unless the environment says otherwise): it
# re-decides in the background after each write, and its commands are not
# the request's.
export SCIMD_ACCESS_RESOLVER=${SCIMD_ACCESS_RESOLVER:-false}
export SCIMD_OPERATOR_TOKEN=bench-operator-token-0123456789abcdef SCIMD_REDIS_URL="redis://127.0.0.1:$rp/0" SCIMD_LOG_LEVEL=warn
SCIMD_ADDR="127.0.0.1:$pa" "$work/scimd" serve >"$work/a.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$pa/readyz" >/dev/null && break; sleep 0.1; done
tok=$(curl -sf -X POST "http://127.0.0.1:$pa/admin/v1/tenants" -H "Authorization: Bearer $SCIMD_OPERATOR_TOKEN" -d '{"id":"rt","name":"rt","licenseLimit":1000000}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["scimToken"])')
B="http://127.0.0.1:$pa/scim/v2/rt"
H=(-H "Authorization: Bearer $tok" -H "Content-Type: application/scim+json")
body() { echo "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],\"userName\":\"$1@x.test\",\"externalId\":\"e-$1\",\"active\":true,\"emails\":[{\"type\":\"work\",\"value\":\"$1@x.test\",\"primary\":true}],\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"n-$1\"}}"; }
uid=$(curl -sf "${H[@]}" -X POST "$B/Users" -d "$(body warm)" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
gid=$(curl -sf "${H[@]}" -X POST "$B/Groups" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
measure() { # name, then a command run N times
  local name=$1; shift; local n=50
  "$@" 0 >/dev/null  # warm (scripts loaded, token cached)
  sleep 0.2
  redis-cli -p "$rp" monitor > "$work/mon.txt" & local mp=$!
  sleep 0.3
  for i in $(seq 1 $n); do "$@" "$i" >/dev/null; done
  sleep 0.3; kill $mp; wait $mp 2>/dev/null || true
  python3 - "$work/mon.txt" "$name" "$n" <<'PY'
import sys, re, collections
lines = [l for l in open(sys.argv[1]) if '"' in l and 'lua]' not in l]
cmds = collections.Counter(re.search(r'\] "([^"]+)"', l).group(1).upper() for l in lines)
n = int(sys.argv[3])
print(f"{sys.argv[2]}: top-level commands per request: " + ", ".join(f"{c} {k/n:.2f}" for c, k in cmds.most_common()))
PY
}
get_filter() { curl -sf "${H[@]}" "$B/Users?filter=userName%20eq%20%22warm%40x.test%22"; }
get_id() { curl -sf "${H[@]}" "$B/Users/$uid"; }
post() { curl -sf "${H[@]}" -X POST "$B/Users" -d "$(body "u$RANDOM$1")"; }
patch() { local op=add; [ $(( $1 % 2 )) = 1 ] && op=remove; curl -sf "${H[@]}" -X PATCH "$B/Groups/$gid" -d "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"$op\",\"path\":\"members\",\"value\":[{\"value\":\"$uid\"}]}]}"; }
# A create that must link: a manual user made through the admin API before
# MONITOR starts (not counted), then linked by a SCIM create, by userName
# (the default MatchBy's first) and, with another userName, by work email.
A=(-H "Authorization: Bearer $SCIMD_OPERATOR_TOKEN")
mode() { curl -sf "${A[@]}" -X PUT "http://127.0.0.1:$pa/admin/v1/tenants/rt/provisioning" -d "{\"mode\":\"$1\"}" >/dev/null; }
manual() { curl -sf "${A[@]}" -X POST "http://127.0.0.1:$pa/admin/v1/tenants/rt/users" -d "{\"userName\":\"$1\",\"email\":\"$2\"}" >/dev/null; }
mode manual
for i in $(seq 0 50); do manual "ln$i@x.test" "ln$i@x.test"; manual "other-le$i" "le$i@x.test"; done
mode idp
link_name() { curl -sf "${H[@]}" -X POST "$B/Users" -d "$(body "ln$1")"; }
link_email() { curl -sf "${H[@]}" -X POST "$B/Users" -d "$(body "le$1")"; }
measure "filtered GET" get_filter
measure "GET by id" get_id
measure "POST /Users" post
measure "member PATCH" patch
measure "POST /Users linking by userName" link_name
measure "POST /Users linking by email" link_email
