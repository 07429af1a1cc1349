#!/usr/bin/env bash
# Runs the storage and end-to-end suites against a 3-master Redis Cluster of
# our own on loopback ports (issue 6): every multi-key script must find all
# its keys in one slot. The servers are stopped by PID at exit, whatever
# happens, and their directory removed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi

dir=$(mktemp -d /tmp/scimd-cluster.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

# in_use reports whether something listens on 127.0.0.1:$1.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Three consecutive ports whose cluster bus ports (+10000) are free too.
base=""
for candidate in 7101 7201 7301 7401 7501 7601 7701 7801 7901; do
  free=yes
  for p in $candidate $((candidate + 1)) $((candidate + 2)); do
    if in_use "$p" || in_use $((p + 10000)); then free=no; break; fi
  done
  if [ "$free" = yes ]; then base=$candidate; break; fi
done
if [ -z "$base" ]; then echo "cluster: no free loopback ports between 7101 and 7903" >&2; exit 1; fi
ports=("$base" $((base + 1)) $((base + 2)))

start=$(date +%s)
for p in "${ports[@]}"; do
  redis-server --cluster-enabled yes --cluster-config-file "$dir/nodes-$p.conf" \
    --port "$p" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no --daemonize no \
    >"$dir/redis-$p.log" 2>&1 &
  pids+=($!)
done
for p in "${ports[@]}"; do
  for i in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$p" ping 2>/dev/null | grep -q PONG && break
    if [ "$i" = 100 ]; then echo "cluster: redis-server on $p did not start:" >&2; cat "$dir/redis-$p.log" >&2; exit 1; fi
    sleep 0.1
  done
done

redis-cli --cluster create "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" \
  --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; exit 1; }

# Every node must see the whole cluster: all 16384 slots assigned, state ok.
for p in "${ports[@]}"; do
  for i in $(seq 1 300); do
    info=$(redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null || true)
    if grep -q '^cluster_state:ok' <<<"$info" && grep -q '^cluster_slots_ok:16384' <<<"$info" \
      && grep -q '^cluster_known_nodes:3' <<<"$info"; then
      break
    fi
    if [ "$i" = 300 ]; then echo "cluster: node $p is not ok:" >&2; echo "$info" >&2; exit 1; fi
    sleep 0.1
  done
done

url="redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
echo "cluster: 3 masters up in $(($(date +%s) - start))s; REDIS_URL=$url"
REDIS_URL="$url" go test -race -count=1 ./storage/ ./server/
echo "cluster: passed in $(($(date +%s) - start))s"
