import Foundation
import Testing

/// Issue 18 item 4: a build without CPU flags (`swift build`, `make build`, MetaMerge as a package dependency) runs
/// the vector kernels at the machine's width. The `metamerge` under test is built without `-target-cpu`; on x86-64
/// Linux it must carry an AVX-512 (x86-64-v4), an AVX2 (x86-64-v3) and a baseline clone of each kernel, and the
/// load-time resolver that picks one (an ifunc) — read from its symbol table, which the debug and release builds
/// keep. Before, the kernels were Swift loops compiled once for the build's target CPU (baseline SSE2 unless
/// `make build` added `-target-cpu haswell`), so these symbols did not exist.
@Suite("The built metamerge picks its vector kernels at run time")
struct RuntimeDispatchTests {
    static let kernels = [
        "mm_moments_finite1", "mm_moments_finite2", "mm_moments_finite3", "mm_squared_norm_lanes", "mm_metagpt",
        "mm_plain_sum", "mm_count_magnitudes_below", "mm_decode_bf16", "mm_encode_bf16", "mm_encode_f16",
        // TIES / DARE / breadcrumbs / DELLA: rank selection, masks and the combination.
        "mm_magnitude_histogram", "mm_magnitude_histogram_l1", "mm_collect_bin_keys", "mm_prefix_mask",
        "mm_outlier_mask", "mm_random_mask", "mm_subtract", "mm_scale", "mm_linear_combine", "mm_consensus_combine",
        // The lockstep engine's forming of each point's weights.
        "mm_form_point",
    ]

    #if arch(x86_64) && os(Linux)
    @Test func everyKernelHasOneClonePerLevelAndAResolver() throws {
        let binary = try Data(contentsOf: MetaMergeProcess.executable, options: .alwaysMapped)
        for kernel in Self.kernels {
            for suffix in [".arch_x86-64-v4.0", ".arch_x86-64-v3.1", ".default.2", ".resolver"] {
                let symbol = kernel + suffix
                #expect(binary.range(of: Data((symbol + "\0").utf8)) != nil, "\(symbol) missing from metamerge")
            }
        }
    }
    #endif
}
