# Sourced by the benchmarks that run release test suites (probe_vs_torch.sh, probe_large.sh, forward_vs_torch.sh):
# sets `release_flags`, the SwiftPM flags for both `swift build --build-tests` and `swift test --skip-build` —
# release, `-enable-testing` (some suites use `@testable import`) and SCRATCH as `--scratch-path` when set — no CPU
# flags, as `make build` (the vector kernels pick the machine's width at load time), so the benchmarked code is the
# shipped code.
release_flags=(-c release -Xswiftc -enable-testing)
if [ -n "${SCRATCH:-}" ]; then release_flags+=(--scratch-path "$SCRATCH"); fi
