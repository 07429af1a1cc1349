#!/usr/bin/env bash
# Instructions scimd executes per SCIM request, by kind, of two builds,
# counted by valgrind's callgrind (user space, every thread: the handler,
# Fiber, go-redis, the runtime and GC; not the kernel). Unlike CPU time,
# the count hardly moves with what else the machine is doing, so a change
# is measured by it on a busy machine (about 2% between rounds). scimd runs
# under callgrind (GOMAXPROCS=1, no async preemption: callgrind cannot
# follow Go's preemption signals, and one P keeps idle spinning out of the
# count) on a Redis of its own, resolver off, fed by scimload (2 clients);
# counters are zeroed before and dumped after each step. Needs valgrind,
# redis-server, curl and python3. Takes about a minute per build and round.
#
#   bash cmd/scimload/compare/instructions.sh OLD NEW [rounds] [n]
#
# Per request, n of each (default 2000): POST /Users alone; Entra's create
# (a filter that misses, then POST); a filtered GET that finds its user;
# GET /Users/{id}; a one-member PATCH of a group (scimload's member patch
# phase on one group of 10: n adds of a user not in it, n removes, of its
# 10 first members and then of users not in it: each still a script
# call). A step's requests that are not its kind (a run finds its users by
# filter first) are taken out at the filtered GET's count.
set -euo pipefail
old=${1:?OLD revision}
new=${2:?NEW revision}
rounds=${3:-2}
n=${4:-2000}
cd "$(dirname "$0")/../../.."
source cmd/scimload/compare/lib.sh
bench_work scimd-instr
build "$old" old
build "$new" new
go build -o "$work/scimload" ./cmd/scimload
export SCIMD_OPERATOR_TOKEN=bench-operator-token-0123456789abcdef SCIMD_LOG_LEVEL=warn SCIMD_ACCESS_RESOLVER=false

# measure BUILD OUT: one round, "step instructions" lines in OUT.
measure() {
  local bin=$1 out=$2 rp pa
  rp=$(free_port); pa=$(free_port)
  redis-server --bind 127.0.0.1 --port "$rp" --dir "$work" --save "" --appendonly no >/dev/null 2>&1 &
  local rpid=$!; pids+=("$rpid")
  sleep 0.5
  mkdir -p "$out.d"
  SCIMD_REDIS_URL="redis://127.0.0.1:$rp/0" SCIMD_ADDR="127.0.0.1:$pa" GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 \
    valgrind --tool=callgrind --callgrind-out-file="$out.d/cg" "$bin" serve >"$out.d/valgrind.log" 2>&1 &
  local vpid=$!; pids+=("$vpid")
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$pa/readyz" >/dev/null && break; sleep 0.2; done
  local tok
  tok=$(curl -sf -X POST "http://127.0.0.1:$pa/admin/v1/tenants" -H "Authorization: Bearer $SCIMD_OPERATOR_TOKEN" \
    -d '{"id":"instr","name":"instr","licenseLimit":1000000}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["scimToken"])')
  local warm
  warm=$(curl -sf -X POST "http://127.0.0.1:$pa/admin/v1/tenants" -H "Authorization: Bearer $SCIMD_OPERATOR_TOKEN" \
    -d '{"id":"warm","name":"warm","licenseLimit":1000000}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["scimToken"])')
  load() { # tenant token, scimload flags: fails the script, with scimload's report, if a request failed or time ran out
    local t=$1 k=$2; shift 2
    if ! "$work/scimload" --url "http://127.0.0.1:$pa/scim/v2/$t" --token "$k" --prefix run --concurrency 2 \
      --groups 0 --phases initial --gets 0 --duration 2h --json "$@" >"$out.d/last.json" 2>>"$out.d/scimload.log" \
      || grep -q '"stopped"' "$out.d/last.json"; then
      echo "scimload failed or stopped early ($*):" >&2
      cat "$out.d/last.json" >&2
      exit 1
    fi
  }
  # Scripts loaded, the store warm, in a tenant of its own: its users'
  # employeeNumbers would make the measured creates linking candidates.
  load warm "$warm" --users 0 --posts 20
  step() { # name, scimload flags
    local name=$1; shift
    callgrind_control -z "$vpid" >/dev/null 2>&1
    load instr "$tok" "$@"
    callgrind_control -d "$name" "$vpid" >/dev/null 2>&1
    local f=""
    for _ in $(seq 1 50); do
      f=$(grep -l "^desc: Trigger: dump $name\$" "$out.d"/cg.* 2>/dev/null | head -1 || true)
      [ -n "$f" ] && grep -q '^totals:' "$f" && break
      sleep 0.2
    done
    echo "$name $(awk '/^totals:/{print $2; exit}' "$f")" >>"$out"
  }
  step posts --users 0 --posts "$n"
  step creates --users "$n"
  step gets --users "$n" --gets "$n"
  step byid --users "$n" --gets-by-id $((2 * n))
  step members --users "$n" --groups 1 --members-per-group 10 --batch 10 --phases initial,incremental \
    --user-patches 0 --disables 0 --single-member-patches $((2 * n))
  kill "$vpid"; wait "$vpid" 2>/dev/null || true
  kill "$rpid"; wait "$rpid" 2>/dev/null || true
}
for r in $(seq 1 "$rounds"); do
  for v in old new; do measure "$work/$v" "$work/$r-$v"; done
done
python3 - "$work" "$rounds" "$n" <<'PY'
import statistics as st, sys
work, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def per_request(path):
    t = {k: int(v) for k, v in (l.split() for l in open(path))}
    get = t["gets"] / (2 * n)  # n filters that find their user, then n filtered GETs
    return {
        "POST /Users alone": t["posts"] / n,
        "create (filter + POST)": t["creates"] / n,
        "filtered GET": get,
        "GET by id": (t["byid"] - n * get) / (2 * n),
        "member PATCH (1)": (t["members"] - n * get) / (2 * n),  # and one group create, one member add
    }
res = {v: [per_request(f"{work}/{r}-{v}") for r in range(1, rounds + 1)] for v in ("old", "new")}
print(f"thousand instructions per request (callgrind, user space), median of {rounds} rounds of {n}; each round old, new")
for k in res["old"][0]:
    o = st.median(x[k] for x in res["old"]) / 1000
    w = st.median(x[k] for x in res["new"]) / 1000
    spread = [round(x[k] / 1000) for x in res["old"]], [round(x[k] / 1000) for x in res["new"]]
    print(f"{k:24} {o:7.0f} -> {w:7.0f}   {w / o:5.2f}x   rounds old {spread[0]} new {spread[1]}")
PY
