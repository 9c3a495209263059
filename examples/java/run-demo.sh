#!/usr/bin/env bash
# `make demo` / `make demo-text`: start the Python server on a free loopback port, let a Java
# quickstart (Quickstart, or the class named by $1) distill through it, download and run the
# INT8 student, then stop the server.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"  # make passes its $(VENV)'s
DATA_DIR="$ROOT/distill-data"      # keeps the trained zoo teacher between demos
MAIN="${1:-dev.distillbridge.examples.Quickstart}"
OUT="$ROOT/demo-artifact"
RUN_DIR="$(mktemp -d -t distill-bridge-demo.XXXXXX)"
LOG="$RUN_DIR/server.log"
READY="$RUN_DIR/ready.json"        # the server writes it once it accepts calls

rm -rf "$OUT"
"$PY" -m bridge serve --host 127.0.0.1 --port 0 --data-dir "$DATA_DIR" --ready-file "$READY" \
  >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT

for _ in $(seq 1 240); do
  [ -s "$READY" ] && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG"; echo "server did not start" >&2; exit 1; }
  sleep 0.25
done
[ -s "$READY" ] || { cat "$LOG"; echo "server did not become ready within 60 s" >&2; exit 1; }
TARGET=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["target"])' "$READY")
echo "server listening on $TARGET (log: $LOG)"

cd "$ROOT/examples/java"
# plaintext=true: this loopback server runs without --tls-cert (the client's default is TLS)
mvn -B -ntp -q compile exec:java -Dexec.mainClass="$MAIN" -Dexec.args="$TARGET $OUT plaintext=true"
