#!/bin/sh
# Builds the reranker workload with swiftc -O (whole module, like `swift build -c release`)
# and runs the default 18-job sweep: sh docs/workload-reranker/sweep.sh [seed] [key=value ...]
set -e
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${RERANKER_SWEEP_DIR:-/tmp/reranker-sweep-$(id -u)}
mkdir -p "$OUT" && cd "$OUT"
CPU=""; [ "$(uname -m)" = x86_64 ] && CPU="-target-cpu haswell"
lib() { # module sources...
    name=$1; shift
    swiftc -O -wmo -parse-as-library $CPU -I . -module-name "$name" -emit-module -emit-library -static "$@"
}
lib FleetTwinEngine "$ROOT"/Sources/FleetTwinEngine/*.swift
lib FleetTwinTensor "$ROOT"/Sources/FleetTwinTensor/*.swift
lib FleetTwinWorkloads $(find "$ROOT/Sources/FleetTwinWorkloads" -name '*.swift' | sort)
swiftc -O $CPU -I . "$ROOT/docs/workload-reranker/sweep.swift" -L . -lFleetTwinWorkloads -lFleetTwinTensor -lFleetTwinEngine -o sweep
exec /usr/bin/time -v ./sweep "$@"
