import Checkpoints
import Foundation

/// The statistics of one tensor's task vectors.
public struct TensorStatistics: Sendable, Hashable {
    public let name: String
    /// The shape compared on (the common sub-matrix for a vocabulary mismatch).
    public let shape: [Int]
    /// Whether only the common leading rows were compared (vocabulary sizes differ).
    public let trimmed: Bool
    public let moments: TaskVectorMoments

    public init(name: String, shape: [Int], trimmed: Bool, moments: TaskVectorMoments) {
        self.name = name
        self.shape = shape
        self.trimmed = trimmed
        self.moments = moments
    }

    public var group: TensorGroup { TensorGroup(tensorName: name) }

    /// The per-tensor MetaGPT coefficients λt,n = ‖τt,n‖² / Σk ‖τk,n‖² (a documented extension; the paper's λ is
    /// global). Uniform 1/T when every task vector of this tensor is zero.
    public var metagptLambdas: [Double] { moments.gram.metagptLambdas }
}

/// The statistics of a group of tensors: one layer, the embeddings, the final norm, lm_head, or the whole model.
public struct GroupStatistics: Sendable, Hashable {
    /// `embeddings`, `layers.<i>`, `final_norm`, `lm_head`, `other`, or `global`.
    public let label: String
    public let tensorCount: Int
    public let moments: TaskVectorMoments
}

/// Task-vector statistics of a model family, from one streaming pass over its weights.
///
/// For each tensor n and tasks i, j: G_n[i][j] = ⟨τi,n, τj,n⟩ with τt = θt − θ0, ‖θ0,n‖², and per task
/// Σ τ, Σ |τ|, max |τ|, zero and non-finite counts and sign conflicts (``TaskVectorMoments``). Per-layer and
/// global figures are sums over tensors; MetaGPT's global λ comes from the global Gram diagonal.
public struct TaskVectorStatistics: Sendable {
    public let taskNames: [String]
    /// Per tensor, in model order.
    public let tensors: [TensorStatistics]
    /// Tensors the family could not compare, or compared only on a common sub-matrix, with why.
    public let problems: [TensorProblem]
    public var provenance: Provenance

    public init(taskNames: [String], tensors: [TensorStatistics], problems: [TensorProblem], provenance: Provenance) {
        self.taskNames = taskNames
        self.tensors = tensors
        self.problems = problems
        self.provenance = provenance
    }

    public var taskCount: Int { taskNames.count }

    /// The whole compared parameter vector.
    public var global: GroupStatistics {
        var total = TaskVectorMoments(taskCount: taskCount)
        for tensor in tensors { total.add(tensor.moments) }
        return GroupStatistics(label: "global", tensorCount: tensors.count, moments: total)
    }

    /// Per group (embeddings, each layer, final norm, lm_head, other), in model order; empty groups omitted.
    public var groups: [GroupStatistics] {
        var order: [TensorGroup] = []
        var sums: [TensorGroup: (Int, TaskVectorMoments)] = [:]
        for tensor in tensors {
            let group = tensor.group
            if sums[group] == nil {
                order.append(group)
                sums[group] = (0, TaskVectorMoments(taskCount: taskCount))
            }
            sums[group]!.0 += 1
            sums[group]!.1.add(tensor.moments)
        }
        return order.sorted().map {
            GroupStatistics(label: $0.description, tensorCount: sums[$0]!.0, moments: sums[$0]!.1)
        }
    }

    /// MetaGPT's coefficients over the whole compared parameter vector (the paper's Eq. 15).
    public var metagptLambdas: [Double] { global.moments.gram.metagptLambdas }

    /// Names of tensors left out of the comparison entirely.
    public var skippedTensors: [String] { problems.filter { !$0.isCompared }.map(\.name) }
}
