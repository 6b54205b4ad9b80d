# Sourced by the benchmarks that run release test suites (probe_vs_torch.sh, probe_large.sh, forward_vs_torch.sh):
# sets `release_flags`, the SwiftPM flags for both `swift build --build-tests` and `swift test --skip-build` —
# release, `-enable-testing` (some suites use `@testable import`), SCRATCH as `--scratch-path` when set, and the
# vector flags `make build` uses (AVX2/FMA where the machine has them), so the benchmarked code is the shipped code.
release_flags=(-c release -Xswiftc -enable-testing)
if [ -n "${SCRATCH:-}" ]; then release_flags+=(--scratch-path "$SCRATCH"); fi
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw bmi2 /proc/cpuinfo; then
    release_flags+=(-Xswiftc -target-cpu -Xswiftc haswell)
fi
