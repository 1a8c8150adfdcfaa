#!/bin/sh
# Reopen of an N-entry file log (default 1,000,000): FileAuditStore.open + AuditLog.open from the tail (the
# persisted frontier) against a full read (checking: .everyEntry, what every open did before), interleaved, in one
# process. Usage (from this folder): ./run.sh [entries = 1000000] [rounds = 7] [batch = 1000]
set -e
cd "$(dirname "$0")"
swift build -c release
./.build/release/ReopenHarness "${1:-1000000}" "${2:-7}" "${3:-1000}"
