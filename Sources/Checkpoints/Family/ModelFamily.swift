import Foundation
import SafeTensors

/// A base model and N task models fine-tuned from it, aligned tensor by tensor.
///
/// For each tensor name stored by any member, the family records its shape and dtype in every model. Tensors
/// that every model stores with the same shape are ``tensors`` (comparable); embeddings and `lm_head` whose
/// vocabulary sizes differ are comparable on their common leading rows (the common sub-matrix, a prefix of the
/// row-major data); everything else is a ``problems`` entry — listed, never silently dropped.
public struct ModelFamily: Sendable {
    /// One fine-tuned model of the family: a full checkpoint, or a PEFT LoRA adapter on the family's base.
    public struct Member: Sendable {
        public let name: String
        /// The task model's weights; for an adapter, the base checkpoint (the tensors it does not change).
        public let checkpoint: Checkpoint
        /// The adapter whose update s·B·A is this task's vector on the tensors it changes (0 elsewhere), when the
        /// task model is an adapter.
        public let adapter: LoRAAdapter?

        public init(name: String, checkpoint: Checkpoint) {
            self.name = name
            self.checkpoint = checkpoint
            self.adapter = nil
        }

        /// A task model given as a LoRA adapter on `base` (the family's base).
        public init(name: String, adapter: LoRAAdapter, base: Checkpoint) {
            self.name = name
            self.checkpoint = base
            self.adapter = adapter
        }

        /// The task model's folder: the adapter's, or the checkpoint's.
        public var directory: URL { adapter?.directory ?? checkpoint.directory }

        /// A fingerprint of the task model's weights: the checkpoint's (``Checkpoint/fingerprint()``), or for an
        /// adapter the base's and the adapter file's joined by `+`, so a report of an adapter never matches its base.
        public func fingerprint() throws -> String {
            let base = try checkpoint.fingerprint()
            guard let adapter else { return base }
            return base + "+" + (try Checkpoint.fingerprint(files: [adapter.file]))
        }
    }

    public let base: Checkpoint
    public let tasks: [Member]
    /// Comparable tensors, in model order: embeddings, layers by index, final norm, lm_head, other.
    public let tensors: [AlignedTensor]
    /// Tensors that cannot be compared across the family, with why.
    public let problems: [TensorProblem]

    /// The base followed by the task models.
    public var checkpoints: [Checkpoint] { [base] + tasks.map(\.checkpoint) }
    /// Whether some task model is a LoRA adapter.
    public var hasAdapters: Bool { tasks.contains { $0.adapter != nil } }
    public var taskNames: [String] { tasks.map(\.name) }

    /// Aligns `tasks` with `base` by tensor name.
    ///
    /// - Throws: ``CheckpointError/Kind/badFamily`` when there are no task models, two share a name, or no tensor
    ///   at all is comparable.
    public init(base: Checkpoint, tasks: [Member]) throws {
        guard !tasks.isEmpty else {
            throw CheckpointError(
                .badFamily, url: base.directory, "a family needs at least one task model besides the base")
        }
        var names: Set<String> = []
        for task in tasks where !names.insert(task.name).inserted {
            throw CheckpointError(.badFamily, url: task.checkpoint.directory, "task name '\(task.name)' is used twice")
        }
        for task in tasks {
            if let adapter = task.adapter {
                guard task.checkpoint === base else {
                    throw CheckpointError(
                        .badFamily, url: adapter.directory,
                        "the LoRA adapter '\(task.name)' is not given on the family's base \(base.directory.path)")
                }
                try adapter.check(against: base)
                continue
            }
            if let (key, taskValue, baseValue) = ArchitectureMatch.difference(task.checkpoint.config, from: base.config)
            {
                throw CheckpointError(
                    .badFamily, url: task.checkpoint.directory.appendingPathComponent("config.json"),
                    "\(key) is \(taskValue), but the base's is \(baseValue): task models must be fine-tunes of the "
                        + "base (same architecture)"
                )
            }
        }
        self.base = base
        self.tasks = tasks
        let models = [base] + tasks.map(\.checkpoint)
        let modelNames = ["base"] + tasks.map(\.name)

        var allNames = Set<String>()
        for model in models { allNames.formUnion(model.tensorNames) }
        var aligned: [AlignedTensor] = []
        var problems: [TensorProblem] = []
        for name in allNames {
            let infos = models.map { Self.storedOrTied(name, in: $0) }
            let missing = zip(modelNames, infos).filter { $0.1 == nil }.map(\.0)
            if !missing.isEmpty {
                problems.append(TensorProblem(name: name, kind: .missing(models: missing)))
                continue
            }
            let present = infos.map { $0! }
            if let bad = present.first(where: { !$0.dtype.isFloatingPoint }) {
                problems.append(TensorProblem(name: name, kind: .notFloatingPoint(dtype: bad.dtype.rawValue)))
                continue
            }
            let shapes = present.map(\.shape)
            let dtypes = present.map(\.dtype)
            if Set(shapes).count == 1 {
                aligned.append(AlignedTensor(name: name, shape: shapes[0], shapes: shapes, dtypes: dtypes))
                continue
            }
            let group = TensorGroup(tensorName: name)
            let tails = Set(shapes.map { $0.dropFirst() })
            if group == .embeddings || group == .lmHead, tails.count == 1, shapes.allSatisfy({ $0.count == 2 }) {
                let rows = shapes.map { $0[0] }
                let common = [rows.min()!] + shapes[0].dropFirst()
                aligned.append(AlignedTensor(name: name, shape: common, shapes: shapes, dtypes: dtypes))
                problems.append(
                    TensorProblem(name: name, kind: .vocabularyMismatch(rows: rows, commonRows: rows.min()!)))
            } else {
                let listed = zip(modelNames, shapes).map { "\($0) \($1)" }.joined(separator: ", ")
                let odd = zip(models, shapes).first { $0.1 != shapes[0] }!.0
                throw CheckpointError(
                    .shapeMismatch, url: odd.directory, tensor: name,
                    "has a different shape in the task models than in the base (\(listed)): the models are not one "
                        + "family (only embedding / lm_head rows may differ, with the vocabulary)")
            }
        }
        guard !aligned.isEmpty else {
            throw CheckpointError(
                .badFamily, url: base.directory,
                "no tensor is stored with the same name and shape in every model; are these models of one family?")
        }
        self.tensors = aligned.sorted { ($0.group, $0.name) < ($1.group, $1.name) }
        self.problems = problems.sorted { $0.name < $1.name }
    }

    /// A tensor's header entry, or for `lm_head.weight` in a tied model, the embedding's.
    private static func storedOrTied(_ name: String, in checkpoint: Checkpoint) -> TensorInfo? {
        if let info = checkpoint.info(name) { return info }
        if TensorGroup(tensorName: name) == .lmHead, checkpoint.lmHeadIsTied, let embedding = checkpoint.embeddingName {
            return checkpoint.info(embedding)
        }
        return nil
    }

    /// Where model `model` (0 = base, t = task t) stores aligned tensor `tensor`: its weight file and the stored
    /// name — the embedding for a tied `lm_head`.
    public func storage(_ tensor: AlignedTensor, model: Int) throws -> (file: SafeTensorsFile, name: String) {
        let checkpoint = model == 0 ? base : tasks[model - 1].checkpoint
        var name = tensor.name
        if checkpoint.info(name) == nil, let embedding = checkpoint.embeddingName { name = embedding }
        guard let file = checkpoint.file(of: name) else {
            throw CheckpointError(
                .missingTensor, url: checkpoint.directory, tensor: tensor.name, "not found in this checkpoint")
        }
        return (file, name)
    }

    /// Reads elements `elements` of aligned tensor `tensor` from model `model` (0 = base, t = task t) as Float32.
    ///
    /// Element indices are in the common shape; for vocabulary-trimmed tensors the common sub-matrix is the
    /// leading rows, so the same flat indices address it in every model. A tied `lm_head` reads the embedding.
    public func readFloat32(
        _ tensor: AlignedTensor, model: Int, elements: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>
    ) throws {
        let (file, name) = try storage(tensor, model: model)
        try file.readFloat32(name, elements: elements, into: buffer)
    }
}

/// A tensor stored by every model of a family with a shape they can be compared on.
public struct AlignedTensor: Sendable, Hashable {
    public let name: String
    /// The shape the family is compared on: the common shape, or for a vocabulary mismatch the common rows.
    public let shape: [Int]
    /// Each model's stored shape, base first.
    public let shapes: [[Int]]
    /// Each model's storage dtype, base first.
    public let dtypes: [DType]

    public var elementCount: Int { shape.reduce(1, *) }
    public var group: TensorGroup { TensorGroup(tensorName: name) }
    /// Whether the models' shapes differ (vocabulary sizes) and only the common leading rows are compared.
    public var isTrimmed: Bool { shapes.contains { $0 != shape } }
}

/// A tensor the family cannot compare across all its models.
public struct TensorProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable, Codable {
        /// Stored by some models but not by those named.
        case missing(models: [String])
        /// Shapes differ beyond a vocabulary size; keyed by model name.
        case shapeMismatch(shapes: [String: [Int]])
        /// Embedding or lm_head with different row counts; compared on the first `commonRows` rows.
        case vocabularyMismatch(rows: [Int], commonRows: Int)
        /// An integer or FP8 tensor: no arithmetic is done on it.
        case notFloatingPoint(dtype: String)
    }

    public let name: String
    public let kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .missing(let models):
            "\(name): missing from \(models.joined(separator: ", "))"
        case .shapeMismatch(let shapes):
            "\(name): shapes differ (" + shapes.keys.sorted().map { "\($0) \(shapes[$0]!)" }.joined(separator: ", ")
                + ")"
        case .vocabularyMismatch(let rows, let common):
            "\(name): vocabulary sizes differ (\(rows.map(String.init).joined(separator: ", ")) rows); compared on the "
                + "common \(common) rows"
        case .notFloatingPoint(let dtype):
            "\(name): dtype \(dtype) is not floating point; not compared"
        }
    }

    /// Whether the tensor is still compared (on a common sub-matrix) despite the problem.
    public var isCompared: Bool {
        if case .vocabularyMismatch = kind { return true }
        return false
    }
}
