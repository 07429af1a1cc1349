#!/usr/bin/env bash
# One scimd replica against two on one Redis (AOF everysec, noeviction),
# interleaved rounds of Entra's initial and incremental cycles; prints each
# round's wall time and CPU, then medians per phase. Everything on loopback,
# every process stopped at exit. Needs redis-server, curl and python3.
#
#   bash cmd/scimload/replicas/run.sh [rounds] [users]
set -euo pipefail
rounds=${1:-5}
users=${2:-10000}
cd "$(dirname "$0")/../../.."
source cmd/scimload/compare/lib.sh
bench_work scimd-replicas
go build -o "$work/scimd" ./cmd/scimd
go build -o "$work/scimload" ./cmd/scimload
rp=$(free_port); pa=$(free_port); pb=$(free_port)
redis-server --bind 127.0.0.1 --port "$rp" --dir "$work" --appendonly yes --appendfsync everysec --save "" \
  --maxmemory-policy noeviction >"$work/redis.log" 2>&1 &
pids+=($!); redis_pid=$!
sleep 0.5
export SCIMD_OPERATOR_TOKEN=bench-operator-token-0123456789abcdef SCIMD_REDIS_URL="redis://127.0.0.1:$rp/0" SCIMD_LOG_LEVEL=warn
SCIMD_ADDR="127.0.0.1:$pa" "$work/scimd" serve >"$work/a.log" 2>&1 & pids+=($!); a_pid=$!
SCIMD_ADDR="127.0.0.1:$pb" "$work/scimd" serve >"$work/b.log" 2>&1 & pids+=($!); b_pid=$!
for p in $pa $pb; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done
done
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; } # user+system ticks
tenant() {
  curl -sf -X POST "http://127.0.0.1:$pa/admin/v1/tenants" -H "Authorization: Bearer $SCIMD_OPERATOR_TOKEN" \
    -d "{\"id\":\"$1\",\"name\":\"bench\",\"licenseLimit\":1000000}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["scimToken"])'
}
half=$((users / 2))
for r in $(seq 1 "$rounds"); do
  for mode in one two; do
    t="bench$r$mode"; tok=$(tenant "$t")
    a0=$(cpu $a_pid); b0=$(cpu $b_pid); r0=$(cpu $redis_pid); s=$(date +%s.%N)
    if [ $mode = one ]; then
      "$work/scimload" --url "http://127.0.0.1:$pa/scim/v2/$t" --token "$tok" --users "$users" --groups $((users / 100)) \
        --concurrency 8 --json >"$work/$t-a.json" 2>/dev/null
    else
      "$work/scimload" --url "http://127.0.0.1:$pa/scim/v2/$t" --token "$tok" --users "$half" --groups $((half / 100)) \
        --concurrency 4 --prefix "a$r" --json >"$work/$t-a.json" 2>/dev/null &
      l=$!
      "$work/scimload" --url "http://127.0.0.1:$pb/scim/v2/$t" --token "$tok" --users "$half" --groups $((half / 100)) \
        --concurrency 4 --prefix "b$r" --json >"$work/$t-b.json" 2>/dev/null
      wait $l
    fi
    e=$(date +%s.%N)
    echo "$r $mode $s $e $(($(cpu $a_pid) - a0)) $(($(cpu $b_pid) - b0)) $(($(cpu $redis_pid) - r0))" >>"$work/rounds"
    curl -sf -X DELETE "http://127.0.0.1:$pa/admin/v1/tenants/$t" -H "Authorization: Bearer $SCIMD_OPERATOR_TOKEN" >/dev/null
  done
done
python3 - "$work" <<'PY'
import json, statistics as st, sys, glob, os
work = sys.argv[1]
hz = os.sysconf("SC_CLK_TCK")
rate = {"one": {}, "two": {}}
totals = {"one": [], "two": []}
print("round mode  requests  wall_s  req/s  scimd_cpu_us/req  redis_cpu_us/req")
for line in open(f"{work}/rounds"):
    r, mode, s, e, ca, cb, cr = line.split()
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/bench{r}{mode}-*.json"))]
    wall = float(e) - float(s)
    req = sum(p["requests"] for j in runs for p in j["phases"])
    print(f"{r:>5} {mode:4} {req:9} {wall:7.2f} {req / wall:6.0f} {(int(ca) + int(cb)) / hz * 1e6 / req:17.0f} {int(cr) / hz * 1e6 / req:17.0f}")
    totals[mode].append(req / wall)
    for phases in zip(*[j["phases"] for j in runs]):
        done = sum(p.get("done") or p["requests"] for p in phases)
        w = max(p["wallSeconds"] for p in phases)
        if phases[0]["name"] == "member add":
            done = sum(p.get("items", 0) for p in phases)
        rate[mode].setdefault(phases[0]["name"], []).append(done / w if w else 0)
print("\nmedian (min-max) per phase, items/s: one replica | two replicas")
for name in rate["one"]:
    o, t = rate["one"][name], rate["two"].get(name, [0])
    print(f"{name:18} {st.median(o):8.0f} ({min(o):.0f}-{max(o):.0f}) | {st.median(t):8.0f} ({min(t):.0f}-{max(t):.0f})")
print(f"{'whole cycle req/s':18} {st.median(totals['one']):8.0f} ({min(totals['one']):.0f}-{max(totals['one']):.0f}) | {st.median(totals['two']):8.0f} ({min(totals['two']):.0f}-{max(totals['two']):.0f})")
PY
