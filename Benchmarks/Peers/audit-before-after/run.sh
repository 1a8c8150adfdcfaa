#!/bin/sh
# Durable appends at 64 concurrent appenders: the code before per-batch checkpoints (WritAudit at 9c192a7, copied
# verbatim into the module WritAuditBefore) against today's, beside a raw pwrite + fdatasync loop, interleaved in
# one process. Usage (from this folder): ./run.sh [entries per appender = 200] [rounds = 21]
set -e
cd "$(dirname "$0")"
mkdir -p Sources/WritAuditBefore
for f in $(git ls-tree --name-only 9c192a7 ../../../Sources/WritAudit/); do
    git show "9c192a7:$f" > "Sources/WritAuditBefore/$(basename "$f")"
done
swift build -c release
./.build/release/AuditHarness "${1:-200}" "${2:-21}"
