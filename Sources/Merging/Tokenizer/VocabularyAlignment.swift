import Checkpoints
import Foundation
import SafeTensors
import Tokenizers

/// The output vocabulary and, per input model, where each output embedding row comes from — MergeKit 0.1.5's
/// `build_tokenizer` and `PermutedVocabulary` (`mergekit/tokenizer/build.py`, `embed.py`).
///
/// Tokens are compared by their exact Unicode scalars (``TokenText``), as MergeKit compares Python strings: "é"
/// (U+00E9) and "e" + U+0301 are two tokens, with two rows.
///
/// - Output vocabulary: `base` — the base's (the first model's without a base); a model — that model's; `union` —
///   the base's, then every other model's tokens it lacks (below each model's `vocab_size`; plain tokens, then added
///   tokens with their settings), then the `tokens:` entries not yet present. Rows are padded to
///   `pad_to_multiple_of`.
/// - Row r of model m's aligned embedding: m's row for that token when m has it (and the token is not `force`d);
///   else the token's default: a `tokens:` entry's source (a model's row, another token's row, zeros); else, when
///   only one model has the token, that model's row; when several do, the base's row if the base has it, else
///   the average of theirs; when none does, zeros. Padding rows are the mean of m's aligned rows.
///
/// The aligned rows of each input are written, row by row, to a scratch file the merge then reads like any input
/// (memory: the default rows, at most one tensor's). Limits, checked before anything is written (also under
/// `--dry-run`): at most ``maximumRows`` output rows; each scratch file's bytes (rows × width × 4) must fit in the
/// free space of the scratch folder (`$TMPDIR`). The folder, `metamerge-vocab-<pid>-<uuid>` holding the marker file
/// `.metamerge-scratch`, is registered with `TemporaryOutputs` (a signal removes it) and removed when the alignment
/// is released — on success and on every error; folders a killed run left (marker present, process gone) are
/// removed by the next alignment.
///
/// **Deviation:** MergeKit orders the union's new plain tokens by
/// iterating unordered sets and dicts (model set, `get_vocab()`); MetaMerge takes models in config order and tokens
/// in id order. With one model contributing new tokens, or new tokens that are added tokens, the orders agree.
final class VocabularyAlignment: @unchecked Sendable {
    /// The most rows an aligned vocabulary may have: 2²⁴ = 16 777 216 (the largest released vocabularies have about
    /// 2.6 · 10⁵ tokens). `pad_to_multiple_of` and unions beyond it are refused.
    static let maximumRows = 1 << 24

    /// Output tokens by id.
    let tokens: [String]
    /// Rows of the aligned embeddings (the vocabulary padded to `pad_to_multiple_of`).
    let rowCount: Int
    /// Where the output tokenizer files come from (a donor model, or the scratch folder with the union's).
    let tokenizerDirectory: URL
    let scratch: URL
    private let settings: TokenizerSettings
    /// Per input: output id → the input's row, or −1.
    private let permutations: [[Int]]
    private let vocabularies: [TokenVocabulary]
    private let references: [String]
    private let baseIndex: Int?
    private var counter = 0

    init(
        settings: TokenizerSettings, inputs: [MergePlan.Input], baseIndex: Int?, configuration: MergeConfiguration
    ) throws {
        self.settings = settings
        self.baseIndex = baseIndex
        references = inputs.map(\.reference)
        let file = configuration.file
        let vocabularies = try inputs.map { try TokenVocabulary(directory: $0.url, reference: $0.reference) }
        self.vocabularies = vocabularies
        let donorIndex = baseIndex ?? 0
        let donor = vocabularies[donorIndex]
        if let unused = donor.ordered.first(where: { $0.id >= donor.size }) {
            throw MergeConfigError(
                .incompatibleModels, file: file,
                "model '\(inputs[donorIndex].reference)': its tokenizer has tokens beyond config.json's vocab_size "
                    + "\(donor.size) ('\(unused.token)' is \(unused.id)); MetaMerge does not strip unused tokens"
            )
        }
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(Self.scratchPrefix)\(getpid())-\(UUID().uuidString)")

        var outIDs: [TokenText: Int] = [:]
        var tokens: [String] = []
        /// The JSON texts of the entries appended to the output's `added_tokens`.
        var added: [String] = []
        func append(_ token: String, entry: TokenizerAddedToken?) {
            guard outIDs[TokenText(token)] == nil else { return }
            outIDs[TokenText(token)] = tokens.count
            added.append(entry?.json(id: tokens.count) ?? TokenizerAddedToken.json(plain: token, id: tokens.count))
            tokens.append(token)
        }
        func adopt(_ vocabulary: TokenVocabulary) {
            for (token, id) in vocabulary.ordered.sorted(by: { $0.id < $1.id }) where id < vocabulary.size {
                outIDs[TokenText(token)] = tokens.count
                tokens.append(token)
            }
        }
        var directory: URL
        switch settings.source {
        case .base:
            adopt(donor)
            directory = inputs[donorIndex].url
        case .model(let reference):
            let url = try configuration.resolveModel(reference)
            let vocabulary = try TokenVocabulary(directory: url, reference: reference)
            if let unused = vocabulary.ordered.filter({ $0.id >= vocabulary.size }).max(by: { $0.id < $1.id }) {
                throw MergeConfigError(
                    .incompatibleModels, file: file,
                    "tokenizer source '\(reference)': its tokenizer.json has ids up to \(unused.id) "
                        + "('\(unused.token)') but config.json's vocab_size is \(vocabulary.size), so the output's "
                        + "tokenizer would name rows its embedding does not have; MetaMerge does not strip tokens — "
                        + "use a tokenizer whose ids are below vocab_size"
                )
            }
            adopt(vocabulary)
            directory = url
        case .union:
            adopt(donor)
            directory = inputs[donorIndex].url
            let order = [donorIndex] + inputs.indices.filter { $0 != donorIndex }
            var newAdded: [(String, TokenizerAddedToken)] = []
            var seenAdded = Set<TokenText>()
            for index in order {
                let vocabulary = vocabularies[index]
                for (token, id) in vocabulary.ordered.sorted(by: { $0.id < $1.id })
                where id < vocabulary.size && vocabulary.addedTokens[TokenText(token)] == nil {
                    append(token, entry: nil)
                }
                for token in vocabulary.addedOrder where (vocabulary.id(token) ?? .max) < vocabulary.size {
                    if seenAdded.insert(TokenText(token)).inserted {
                        newAdded.append((token, vocabulary.addedTokens[TokenText(token)]!))
                    }
                }
            }
            for (token, entry) in newAdded { append(token, entry: entry) }
        }
        for token in settings.tokens { append(token.content, entry: nil) }
        self.tokens = tokens
        var rows = tokens.count
        if let pad = settings.padToMultipleOf, rows % pad != 0 { rows = (rows / pad + 1) * pad }
        guard rows <= Self.maximumRows else {
            throw MergeConfigError(
                .badValue, file: file,
                "tokenizer: the output vocabulary would have \(rows) rows (\(tokens.count) tokens"
                    + "\(settings.padToMultipleOf.map { ", padded to a multiple of \($0)" } ?? "")); the limit is "
                    + "\(Self.maximumRows) rows (2^24)"
            )
        }
        rowCount = rows
        if !added.isEmpty {
            try Self.makeScratch(scratch)
            do {
                try Self.writeTokenizer(from: directory, adding: added, to: scratch)
            } catch {
                Self.removeScratch(scratch)
                throw error
            }
            directory = scratch
        }
        tokenizerDirectory = directory
        permutations = vocabularies.map { vocabulary in
            tokens.map { token in
                guard let id = vocabulary.id(token), id < vocabulary.size else { return -1 }
                return id
            }
        }
        for token in settings.tokens {
            if let model = token.source?.model, !references.contains(model) {
                throw MergeConfigError(
                    .badValue, file: file,
                    "tokenizer.tokens.\(token.content).source names model '\(model)', which is not an input of this "
                        + "merge"
                )
            }
            if token.source == nil {
                throw MergeConfigError(
                    .missingKey, file: file, "tokenizer.tokens.\(token.content): missing key 'source'")
            }
        }
    }

    deinit {
        Self.removeScratch(scratch)
    }

    /// The scratch folder's name before `<pid>-<uuid>`.
    static let scratchPrefix = "metamerge-vocab-"
    /// The file that marks a scratch folder as this tool's: only marked folders are ever removed as stale.
    static let scratchMarker = ".metamerge-scratch"

    /// Creates the scratch folder (once) with its marker and registers it, so that a signal removes it; first
    /// removes the scratch folders of runs that were killed (``removeStaleScratch(in:)``).
    private static func makeScratch(_ scratch: URL) throws {
        guard !FileManager.default.fileExists(atPath: scratch.path) else { return }
        removeStaleScratch(in: scratch.deletingLastPathComponent())
        TemporaryOutputs.register(scratch)
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            try Data().write(to: scratch.appendingPathComponent(scratchMarker))
        } catch {
            try? FileManager.default.removeItem(at: scratch)
            TemporaryOutputs.unregister(scratch)
            throw MergeConfigError(
                .badModel, "cannot create the tokenizer alignment's scratch folder \(scratch.path): "
                    + "\(error.localizedDescription)", cause: error)
        }
    }

    /// Removes the folders `metamerge-vocab-<pid>-<uuid>` in `parent` that hold the marker file and whose process no
    /// longer runs (left by a SIGKILL or a crash); anything else is left alone.
    static func removeStaleScratch(in parent: URL) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        for entry in entries where entry.hasPrefix(scratchPrefix) {
            let rest = entry.dropFirst(scratchPrefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid != getpid(),
                UUID(uuidString: String(rest[rest.index(after: dash)...])) != nil
            else { continue }
            let folder = parent.appendingPathComponent(entry)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(scratchMarker).path) else {
                continue
            }
            if kill(pid, 0) == 0 || errno == EPERM { continue }  // its run goes on
            try? FileManager.default.removeItem(at: folder)
        }
    }

    private static func removeScratch(_ scratch: URL) {
        try? FileManager.default.removeItem(at: scratch)
        TemporaryOutputs.unregister(scratch)
    }

    /// Refuses a scratch file of `bytes` bytes that the free space of the scratch folder's file system cannot hold.
    private func checkScratchSpace(_ bytes: Int, tensor: String, file: URL?) throws {
        var info = statvfs()
        guard statvfs(scratch.path, &info) == 0 else { return }
        let free = Double(info.f_bavail) * Double(info.f_frsize)
        guard Double(bytes) <= free else {
            throw MergeConfigError(
                .badValue, file: file,
                "tokenizer: aligning tensor '\(tensor)' needs a \(bytes)-byte scratch file (\(rowCount) rows) in "
                    + "\(scratch.deletingLastPathComponent().path), which has \(Int(free)) bytes free; set TMPDIR to a "
                    + "larger file system"
            )
        }
    }

    /// The donor's tokenizer files, with `added` appended to tokenizer.json's `added_tokens` (MergeKit's
    /// `add_tokens`), each given as its JSON text (``TokenizerAddedToken/json(id:)``); the rest of tokenizer.json
    /// stays byte for byte (``ConfigJSONEditor``: scores and other floats keep their spelling).
    private static func writeTokenizer(from donor: URL, adding added: [String], to folder: URL) throws {
        for name in ModelWriter.supportFileNames where name != "config.json" {
            let source = donor.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: source.path), name != "tokenizer.json" {
                try FileManager.default.copyItem(at: source, to: folder.appendingPathComponent(name))
            }
        }
        let url = donor.appendingPathComponent("tokenizer.json")
        let original: Data
        do {
            original = try Data(contentsOf: url)
        } catch {
            throw MergeConfigError(
                .badModel, "\(url.path): cannot read the tokenizer: \(FileErrorReason.reason(error, url: url))",
                cause: error)
        }
        var json = try ConfigJSONEditor(data: original, url: url)
        if !added.isEmpty {
            try json.set("added_tokens", .array((json.elements("added_tokens") ?? []) + added))
        }
        try json.data.write(to: folder.appendingPathComponent("tokenizer.json"))
    }

    /// Where output row `row`'s default embedding comes from, for the inputs `models` (indices into the plan's
    /// inputs) of one tensor.
    private enum Default {
        case none
        case row(input: Int, row: Int)
        case average([(input: Int, row: Int)])
        case zero
    }

    private func defaults(models: [Int], file: URL?) throws -> [Default] {
        let configured = Dictionary(
            settings.tokens.map { (TokenText($0.content), $0) }, uniquingKeysWith: { a, _ in a })
        var result = [Default](repeating: .none, count: tokens.count)
        for (id, token) in tokens.enumerated() {
            let present = models.filter { permutations[$0][id] >= 0 }
            let entry = configured[TokenText(token)]
            if entry?.force != true, present.count == models.count { continue }
            if let entry, let source = entry.source {
                switch source {
                case .zero:
                    result[id] = .zero
                case .model(let reference):
                    guard let input = models.first(where: { references[$0] == reference }) else {
                        throw MergeConfigError(
                            .badValue, file: file,
                            "tokenizer.tokens.\(token).source: model '\(reference)' has no such tensor")
                    }
                    guard permutations[input][id] >= 0 else {
                        throw MergeConfigError(
                            .badValue, file: file,
                            "tokenizer.tokens.\(token).source: model '\(reference)' does not have the token \(token)")
                    }
                    result[id] = .row(input: input, row: permutations[input][id])
                case .modelToken(let reference, let other, let otherID):
                    guard let input = models.first(where: { references[$0] == reference }) else {
                        throw MergeConfigError(
                            .badValue, file: file,
                            "tokenizer.tokens.\(token).source: model '\(reference)' has no such tensor")
                    }
                    let vocabulary = vocabularies[input]
                    guard let row = otherID ?? other.flatMap({ vocabulary.id($0) }) else {
                        throw MergeConfigError(
                            .badValue, file: file,
                            "tokenizer.tokens.\(token).source.token: '\(other ?? "")' is not in model '\(reference)''s "
                                + "tokenizer"
                        )
                    }
                    guard row < vocabulary.size else {
                        throw MergeConfigError(
                            .badValue, file: file,
                            "tokenizer.tokens.\(token).source.token_id \(row) is out of range for model '\(reference)' "
                                + "(\(vocabulary.size) rows)"
                        )
                    }
                    result[id] = .row(input: input, row: row)
                }
                continue
            }
            if present.count == 1 {
                result[id] = .row(input: present[0], row: permutations[present[0]][id])
            } else if present.isEmpty {
                result[id] = .zero
            } else if let baseIndex, models.contains(baseIndex), permutations[baseIndex][id] >= 0 {
                result[id] = .row(input: baseIndex, row: permutations[baseIndex][id])
            } else {
                result[id] = .average(present.map { ($0, permutations[$0][id]) })
            }
        }
        return result
    }

    /// Writes the aligned `[rowCount, width]` tensor of every input in `models` (with their `sources`, same order)
    /// to scratch files and returns sources reading them.
    func alignedSources(
        tensor name: String, models: [Int], sources: [TensorSource], files: WeightFiles, loadDtype: DType?, file: URL?
    ) throws -> [TensorSource] {
        let width = sources[0].shape.dropFirst().reduce(1, *)
        let plans = try defaults(models: models, file: file)
        let position = Dictionary(uniqueKeysWithValues: models.enumerated().map { ($1, $0) })
        let scratchBytes = UnsafeMutableRawPointer.allocate(byteCount: max(width * 8, 8), alignment: 64)
        defer { scratchBytes.deallocate() }
        func readRow(_ input: Int, _ row: Int, into destination: UnsafeMutablePointer<Float>) throws {
            let source = sources[position[input]!]
            try files.readFloat32(
                source, elements: (row * width)..<((row + 1) * width), into: destination, scratch: scratchBytes,
                loadDtype: loadDtype)
        }
        // Default rows, computed once (Float32, as MergeKit: a running sum from zero, then ÷ count).
        var defaultRows: [Int: [Float]] = [:]
        var buffer = [Float](repeating: 0, count: width)
        for (id, plan) in plans.enumerated() {
            switch plan {
            case .none: continue
            case .zero: defaultRows[id] = [Float](repeating: 0, count: width)
            case .row(let input, let row):
                try buffer.withUnsafeMutableBufferPointer { try readRow(input, row, into: $0.baseAddress!) }
                defaultRows[id] = buffer
            case .average(let rows):
                var sum = [Float](repeating: 0, count: width)
                for (input, row) in rows {
                    try buffer.withUnsafeMutableBufferPointer { try readRow(input, row, into: $0.baseAddress!) }
                    for i in 0..<width { sum[i] += buffer[i] }
                }
                let count = Float(rows.count)
                defaultRows[id] = sum.map { $0 / count }
            }
        }
        let forced = Set(
            settings.tokens.filter(\.force).compactMap { token in
                tokens.firstIndex { TokenText($0) == TokenText(token.content) }
            })
        var result: [TensorSource] = []
        try Self.makeScratch(scratch)
        for (k, input) in models.enumerated() {
            try checkScratchSpace(rowCount * width * 4, tensor: name, file: file)
            counter += 1
            let url = scratch.appendingPathComponent("aligned-\(counter).safetensors")
            let stored = sources[k].storedName
            let shape = [rowCount] + Array(sources[k].shape.dropFirst())
            let writer = try SafeTensorsWriter(url: url, tensors: [(stored, .f32, shape)])
            var mean = [Double](repeating: 0, count: width)
            for id in 0..<tokens.count {
                let row = permutations[input][id]
                if row >= 0, !forced.contains(id) {
                    try buffer.withUnsafeMutableBufferPointer { try readRow(input, row, into: $0.baseAddress!) }
                } else if let values = defaultRows[id] {
                    buffer = values
                } else {
                    buffer = [Float](repeating: 0, count: width)
                }
                for i in 0..<width { mean[i] += Double(buffer[i]) }
                try buffer.withUnsafeBufferPointer { try writer.append(stored, float32: $0) }
            }
            if rowCount > tokens.count {
                let padding = mean.map { Float($0 / Double(tokens.count)) }
                for _ in tokens.count..<rowCount {
                    try padding.withUnsafeBufferPointer { try writer.append(stored, float32: $0) }
                }
            }
            try writer.finish()
            result.append(try files.source(stored, in: SafeTensorsFile(url: url))!)
        }
        return result
    }
}
