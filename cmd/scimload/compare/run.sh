#!/usr/bin/env bash
# scimd's and Redis's CPU time per request, phase by phase, of two builds
# side by side: interleaved rounds of scimload (Entra's initial and
# incremental cycles, plus GETs by id) against a scimd built from OLD and
# one built from NEW (a git revision, or "." for the working tree), both on
# one Redis (AOF everysec, noeviction). Prints every round, then medians.
# Everything on loopback, every process stopped at exit. Needs
# redis-server, curl and python3.
#
#   bash cmd/scimload/compare/run.sh OLD NEW [rounds] [users]
#
# SCIMLOAD_FLAGS adds flags to every scimload run, e.g. "--rate 2000" for
# percentiles at a fixed offered load (the p50 column is printed then).
set -euo pipefail
old=${1:?OLD revision}
new=${2:?NEW revision}
rounds=${3:-3}
users=${4:-10000}
cd "$(dirname "$0")/../../.."
source cmd/scimload/compare/lib.sh
bench_work scimd-compare
build "$old" old
build "$new" new
go build -o "$work/scimload" ./cmd/scimload
rp=$(free_port); po=$(free_port); pn=$(free_port)
redis-server --bind 127.0.0.1 --port "$rp" --dir "$work" --appendonly yes --appendfsync everysec --save "" \
  --maxmemory-policy noeviction >"$work/redis.log" 2>&1 &
pids+=($!); redis_pid=$!
sleep 0.5
export SCIMD_OPERATOR_TOKEN=bench-operator-token-0123456789abcdef SCIMD_REDIS_URL="redis://127.0.0.1:$rp/0" SCIMD_LOG_LEVEL=warn
SCIMD_ADDR="127.0.0.1:$po" "$work/old" serve >"$work/old.log" 2>&1 & pids+=($!); old_pid=$!
SCIMD_ADDR="127.0.0.1:$pn" "$work/new" serve >"$work/new.log" 2>&1 & pids+=($!); new_pid=$!
for p in $po $pn; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done
done
tenant() { # port id
  curl -sf -X POST "http://127.0.0.1:$1/admin/v1/tenants" -H "Authorization: Bearer $SCIMD_OPERATOR_TOKEN" \
    -d "{\"id\":\"$2\",\"name\":\"bench\",\"licenseLimit\":1000000}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["scimToken"])'
}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for v in old new; do
    if [ $v = old ]; then port=$po; pid=$old_pid; else port=$pn; pid=$new_pid; fi
    t="cmp$r$v"; tok=$(tenant "$port" "$t")
    curl -sf "http://127.0.0.1:$port/metrics" >"$work/$r-$v.m0" || true
    "$work/scimload" --url "http://127.0.0.1:$port/scim/v2/$t" --token "$tok" --users "$users" --posts "$users" --groups $((users / 100)) \
      --gets-by-id "$users" --concurrency 8 --duration 2h ${SCIMLOAD_FLAGS:-} --cpu-pid "scimd=$pid" --cpu-pid "redis=$redis_pid" --json >"$work/$r-$v.json" 2>/dev/null || true
    # The resolver's lag (scimd_access_cause_lag_seconds, where the build
    # has it) over the run: once its outbox is drained (the gauge is set at
    # each 5s sweep), up to a minute.
    sleep 6
    for _ in $(seq 1 60); do
      curl -sf "http://127.0.0.1:$port/metrics" >"$work/$r-$v.m1" || true
      grep -q '^scimd_access_outbox_causes 0$' "$work/$r-$v.m1" && break
      sleep 1
    done
    curl -sf -X DELETE "http://127.0.0.1:$port/admin/v1/tenants/$t" -H "Authorization: Bearer $SCIMD_OPERATOR_TOKEN" >/dev/null
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "scimd RSS (kB): old $(awk '/VmRSS/{print $2}' /proc/$old_pid/status) new $(awk '/VmRSS/{print $2}' /proc/$new_pid/status)"
python3 - "$work" "$rounds" <<'PY'
import json, statistics as st, sys
work, rounds = sys.argv[1], int(sys.argv[2])
rows = {}  # (phase, version) -> list of dicts
lags = {}  # version -> list of (causes, mean s, p50 bound, p99 bound)

def cause_lag(prefix):
    """The resolver's lag over one run, from scimd_access_cause_lag_seconds
    before (.m0) and after (.m1): causes, mean, and the bucket bounds
    holding the median and the 99th percentile; None without the series."""
    def read(path):
        h = {}
        try:
            for line in open(path):
                if line.startswith("scimd_access_cause_lag_seconds_bucket{"):
                    le = line.split('le="')[1].split('"')[0]
                    h[le] = float(line.split()[-1])
                elif line.startswith("scimd_access_cause_lag_seconds_sum "):
                    h["sum"] = float(line.split()[-1])
        except OSError:
            pass
        return h
    a, b = read(prefix + ".m0"), read(prefix + ".m1")
    if "+Inf" not in b:
        return None
    d = {k: b[k] - a.get(k, 0) for k in b}
    n = d["+Inf"]
    if n <= 0:
        return None
    bounds = sorted((float(k), v) for k, v in d.items() if k not in ("+Inf", "sum"))
    def q(p):
        for le, c in bounds:
            if c >= p * n:
                return le
        return float("inf")
    return (n, d["sum"] / n, q(0.5), q(0.99))
for r in range(1, rounds + 1):
    for v in ("old", "new"):
        rep = json.load(open(f"{work}/{r}-{v}.json"))
        for p in rep["phases"]:
            cpu = dict(p.get("cpuMicrosPerRequest", {}))
            errs = p["errors"]
            out = {"req/s": p["requestsPerSecond"], "p50": p["p50Ms"], "p99": p["p99Ms"], "errors": errs}
            for k, c in cpu.items():
                out[k] = c
            rows.setdefault((p["name"], v), []).append(out)
        lag = cause_lag(f"{work}/{r}-{v}")
        if lag:
            lags.setdefault(v, []).append(lag)
        print(f"round {r} {v}: " + "; ".join(f'{p["name"]} {p.get("cpuMicrosPerRequest", {}).get("scimd", 0):.0f}/{p.get("cpuMicrosPerRequest", {}).get("redis", 0):.0f} µs' for p in rep["phases"]))
print("\nmedians over rounds: scimd CPU µs/request, Redis CPU µs/request, requests/s, p50 and p99 ms (old -> new)")
names = []
for (n, _) in rows:
    if n not in names:
        names.append(n)
for n in names:
    o, w = rows.get((n, "old"), []), rows.get((n, "new"), [])
    def med(l, k):
        vals = [x[k] for x in l if k in x]
        return st.median(vals) if vals else float("nan")
    print(f"{n:18} scimd {med(o,'scimd'):6.0f} -> {med(w,'scimd'):6.0f}   redis {med(o,'redis'):5.0f} -> {med(w,'redis'):5.0f}   "
          f"req/s {med(o,'req/s'):7.0f} -> {med(w,'req/s'):7.0f}   p50 {med(o,'p50'):6.2f} -> {med(w,'p50'):6.2f}   p99 {med(o,'p99'):6.2f} -> {med(w,'p99'):6.2f}   errors {sum(x['errors'] for x in o)}/{sum(x['errors'] for x in w)}")
for v in ("old", "new"):
    for n, mean, p50, p99 in lags.get(v, []):
        print(f"resolver lag {v}: {n:.0f} causes, mean {mean*1000:.0f} ms, median <= {p50*1000:g} ms, p99 <= {p99*1000:g} ms")
PY
