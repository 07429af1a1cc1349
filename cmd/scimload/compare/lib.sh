# Shared by the benchmark scripts (compare/*.sh, replicas/run.sh), sourced
# from the repository's root after `set -euo pipefail`.

# bench_work PREFIX makes the run's work directory ($work) and arranges
# that, at exit, every process whose PID is in pids is stopped and the
# directory removed.
bench_work() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# build REV NAME builds scimd at git revision REV ("." is the working tree)
# as $work/NAME.
build() {
  if [ "$1" = . ]; then
    go build -o "$work/$2" ./cmd/scimd
  else
    mkdir -p "$work/src-$2" && git archive "$1" | tar -x -C "$work/src-$2"
    (cd "$work/src-$2" && go build -o "$work/$2" ./cmd/scimd)
  fi
}

# free_port prints a loopback TCP port nothing listens on.
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
