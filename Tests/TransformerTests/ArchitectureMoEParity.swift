import Checkpoints
import Testing
import Transformer

/// Lockstep parity for the mixture-of-experts sets: every case of a set as one group of points (all routed in the
/// same pass, each with its own router θ0 + Σ c τ), every ragged prompt in one batch, small weight blocks.
enum ArchitectureMoEParity {
    /// max relative logit error per (case, prompt) against transformers' references.
    static func lockstepErrors(_ set: String, groupSize: Int) throws -> [(String, Float)] {
        // blockElements 300: several blocks per expert matrix.
        try ArchitectureParity.lockstepErrors(set, blockElements: 300, groupSize: groupSize).map { label, error in
            ("\(label) (group size \(groupSize))", error)
        }
    }
}
