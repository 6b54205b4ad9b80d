import Checkpoints
import Foundation

extension MergePlan {
    /// A checkpoint's layer count: `num_hidden_layers`, else one more than the largest layer index of its tensors.
    static func layerCount(of checkpoint: Checkpoint) -> Int {
        checkpoint.config.numHiddenLayers
            ?? ((checkpoint.tensorNames.compactMap { TensorGroup(tensorName: $0).layerIndex }.max() ?? -1) + 1)
    }

    /// `name` with its layer index replaced by `index` (`model.layers.7.mlp…` → `model.layers.2.mlp…`).
    static func renamingLayer(_ name: String, to index: Int) -> String {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for offset in parts.indices where ["layers", "h", "blocks", "layer"].contains(parts[offset]) {
            if offset + 1 < parts.count, Int(parts[offset + 1]) != nil {
                parts[offset + 1] = String(index)
                break
            }
        }
        return parts.joined(separator: ".")
    }

    /// Plans a `slices:` merge as MergeKit 0.1.5's planner does (`plan_module`, `plan_slice`):
    ///
    /// - the tensors before the layers (token and position embeddings, ``TensorGroup/isBeforeLayers``) from the first
    ///   slice's sources, with its parameters, at t = 0;
    /// - then every slice's layers in order, renumbered consecutively from 0: output layer o of a slice of length n is
    ///   merged from layer a + j of each source (o = the layers of earlier slices + j), at t = j/(n − 1) (1 when
    ///   n = 1) — gradients restart in every slice;
    /// - then the tensors after the layers (final norm, lm_head, ``TensorGroup/isAfterLayers``) from the last slice's
    ///   sources, with its parameters;
    /// - a tensor outside the layers with no known place (``TensorGroup/other``) is refused.
    ///
    /// Parameters: a source's own, then its slice's, then the global ones (merge-wide parameters: the slice's, then the
    /// global ones). `passthrough` takes exactly one source per slice (a frankenmerge; layers may repeat); the other
    /// methods need every slice to name the same models (the base among them when the method has one).
    ///
    /// - Throws: ``MergeConfigError`` naming the slice and source for a `layer_range` outside the model's layers, a
    ///   slice that does not fit the method, a layer tensor missing from a source, or a tensor that cannot be placed.
    static func planSlices(
        _ slices: [MergeConfiguration.OutputSlice], inputs: [Input], baseIndex: Int?, method: MergeMethod,
        configuration: MergeConfiguration, files: WeightFiles, alignment: VocabularyAlignment?, notes: inout [String]
    ) throws -> ([Tensor], [LayerMapEntry]) {
        let file = configuration.file
        if method.definition.usesMetaGPTLambdas {
            throw MergeConfigError(
                .unsupportedKey, file: file,
                "'slices' with merge_method \(method.rawValue) is not supported: MetaGPT's λ are computed over whole "
                    + "models; list the models under 'models:'"
            )
        }
        func inputIndex(_ reference: String) -> Int { inputs.firstIndex { $0.reference == reference }! }
        let global = configuration.parameters
        for (s, slice) in slices.enumerated() {
            for (k, source) in slice.sources.enumerated() {
                let count = layerCount(of: inputs[inputIndex(source.reference)].checkpoint)
                if source.layers.upperBound > count {
                    throw MergeConfigError(
                        .badValue, file: file,
                        "slices[\(s)].sources[\(k)].layer_range [\(source.layers.lowerBound), "
                            + "\(source.layers.upperBound)] is out of range: model '\(source.reference)' has \(count) "
                            + "layers (a range [a, b] needs 0 ≤ a < b ≤ \(count))"
                    )
                }
            }
            if method == .passthrough {
                if slice.sources.count != 1 {
                    throw MergeConfigError(
                        .incompatibleModels, file: file,
                        "slices[\(s)]: merge_method passthrough copies one model's layers per slice; this slice has "
                            + "\(slice.sources.count) sources"
                    )
                }
            } else {
                let names = Set(slice.sources.map(\.reference))
                let first = Set(slices[0].sources.map(\.reference))
                if names != first {
                    throw MergeConfigError(
                        .incompatibleModels, file: file,
                        "slices[\(s)] merges \(slice.sources.map(\.reference).joined(separator: ", ")) but slices[0] "
                            + "merges \(slices[0].sources.map(\.reference).joined(separator: ", ")); with merge_method "
                            + "\(method.rawValue) every slice must name the same models"
                    )
                }
                if let baseIndex, !names.contains(inputs[baseIndex].reference) {
                    throw MergeConfigError(
                        .incompatibleModels, file: file,
                        "slices[\(s)] does not include base_model '\(inputs[baseIndex].reference)'; merge_method "
                            + "\(method.rawValue) takes each slice's deltas from the base, so list it among every "
                            + "slice's sources"
                    )
                }
            }
        }

        /// The request for output tensor `output`, reading `inputName(model, source)` from each source of `slice`.
        func request(
            _ output: String, slice: MergeConfiguration.OutputSlice, t: Double,
            inputName: (MergeConfiguration.SliceSource) -> String
        ) -> TensorRequest {
            var names = [String?](repeating: nil, count: inputs.count)
            var parameters = [[[String: ParameterSetting]]](repeating: [slice.parameters, global], count: inputs.count)
            for source in slice.sources {
                let index = inputIndex(source.reference)
                names[index] = inputName(source)
                parameters[index] = [source.parameters, slice.parameters, global]
            }
            return TensorRequest(
                output: output, inputNames: names, inputParameters: parameters,
                sharedParameters: [slice.parameters, global], t: t)
        }

        var tensors: [Tensor] = []
        var map: [LayerMapEntry] = []
        func add(_ request: TensorRequest) throws {
            tensors.append(
                try planTensor(
                    request, inputs: inputs, baseIndex: baseIndex, method: method, configuration: configuration,
                    files: files,
                    alignment: alignment, notes: &notes))
        }
        /// The tensors of `slice`'s first source outside the layers, in model order; refuses one that has no known
        /// place (neither before nor after the layers), since MergeKit would take it from another slice.
        func outside(_ slice: MergeConfiguration.OutputSlice) throws -> [String] {
            let checkpoint = inputs[inputIndex(slice.sources[0].reference)].checkpoint
            let names = checkpoint.tensorNames.filter { TensorGroup(tensorName: $0).layerIndex == nil }
            if let odd = names.sorted().first(where: { TensorGroup(tensorName: $0) == .other }) {
                throw MergeConfigError(
                    .incompatibleModels, file: file,
                    "tensor '\(odd)' of model '\(slice.sources[0].reference)' (model_type "
                        + "\(checkpoint.config.modelType ?? "unknown")) cannot be placed before or after the layers: "
                        + "a 'slices' merge takes embeddings from the first slice and the final norm and head from "
                        + "the last, and knows only those of MergeKit's architectures (embed_tokens, wte, wpe, "
                        + "word_embeddings, embed_in; norm, ln_f, final_layer_norm, final_layernorm, lm_head, "
                        + "embed_out); merge whole models under 'models:' instead"
                )
            }
            return names.sorted { (TensorGroup(tensorName: $0), $0) < (TensorGroup(tensorName: $1), $1) }
        }
        for name in try outside(slices[0]) where TensorGroup(tensorName: name).isBeforeLayers {
            try add(request(name, slice: slices[0], t: 0) { _ in name })
        }
        var output = 0
        for (s, slice) in slices.enumerated() {
            let length = slice.length
            let lead = slice.sources[0]
            let checkpoint = inputs[inputIndex(lead.reference)].checkpoint
            for j in 0..<length {
                let t = length > 1 ? Double(j) / Double(length - 1) : 1
                let layerNames = checkpoint.tensorNames.filter {
                    TensorGroup(tensorName: $0).layerIndex == lead.layers.lowerBound + j
                }.sorted()
                for name in layerNames {
                    try add(
                        request(renamingLayer(name, to: output), slice: slice, t: t) { source in
                            renamingLayer(name, to: source.layers.lowerBound + j)
                        })
                }
                map.append(
                    LayerMapEntry(
                        output: output, slice: s,
                        sources: slice.sources.map { .init(reference: $0.reference, layer: $0.layers.lowerBound + j) }))
                output += 1
            }
        }
        let last = slices[slices.count - 1]
        for name in try outside(last) where TensorGroup(tensorName: name).isAfterLayers {
            try add(request(name, slice: last, t: 0) { _ in name })
        }
        if method == .passthrough {
            let models = Set(slices.map { $0.sources[0].reference })
            if models.count > 1 {
                notes.append(
                    "passthrough slices: embeddings from '\(slices[0].sources[0].reference)' (the first slice), final "
                        + "norm and lm_head from '\(last.sources[0].reference)' (the last slice), as MergeKit"
                )
            }
        }
        notes.append("slices: \(map.count) output layers (num_hidden_layers in config.json)")
        return (tensors, map)
    }
}
