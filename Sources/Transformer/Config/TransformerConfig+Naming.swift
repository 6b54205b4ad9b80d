extension TransformerConfig {
    /// The token embedding's name.
    var embeddingName: String { naming?.embedding ?? TensorNames.embedding }

    /// The names the engine's layer loop reads: the architecture's ``naming``, else Llama's with the modules of
    /// the recipe (``TensorNaming/llama(_:)``).
    var layerNaming: TensorNaming { naming ?? .llama(self) }

    /// The config with the names `weights` store: without the architecture's optional prefix (GPT-2's
    /// `transformer.`) when the embedding is stored only without it; unchanged otherwise.
    func resolvingNames(in weights: any WeightProvider) -> TransformerConfig {
        guard let naming, weights.shape(of: naming.embedding) == nil else { return self }
        let stripped = naming.withoutOptionalPrefix()
        guard stripped != naming, weights.shape(of: stripped.embedding) != nil else { return self }
        var config = self
        config.naming = stripped
        return config
    }

    /// The output projection stored in `weights` (`lm_head.weight`, or the architecture's head names), nil when
    /// none is stored and the embedding is the head.
    func storedHead(in weights: any WeightProvider) -> String? {
        (naming?.outputProjections ?? [TensorNames.lmHead]).first { weights.shape(of: $0) != nil }
    }

    /// Every tensor the config implies, with its shape, when the stored head is `head` (nil: tied to the
    /// embedding). Llama's names unless the architecture has a ``TensorNaming``.
    func tensorShapes(head: String?) -> [(String, [Int])] {
        guard let naming else { return tensorShapes(storesHead: head != nil) }
        let H = hiddenSize
        let I = intermediateSize
        let qW = queryWidth
        let kvW = keyValueWidth
        let normBias: Bool = if case .layerNorm(bias: true) = normKind { true } else { false }
        func norm(_ module: String) -> [(String, [Int])] {
            [(module + ".weight", [H])] + (normBias ? [(module + ".bias", [H])] : [])
        }
        // A projection [out, in], or [in, out] when the architecture stores its weights transposed.
        let matrix = { (out: Int, input: Int) in naming.transposedWeights ? [input, out] : [out, input] }
        var expected: [(String, [Int])] = [(naming.embedding, [vocabularySize, H])]
        if let positions = naming.positionEmbedding { expected.append((positions, [maxPositionEmbeddings, H])) }
        for l in 0..<layerCount {
            let prefix = naming.layerPrefix + "\(l)."
            expected += norm(prefix + naming.inputNorm)
            if let post = naming.postAttentionNorm { expected += norm(prefix + post) }
            switch naming.queryKeyValue {
            case .separate(let q, let k, let v):
                expected += [
                    (naming.layerTensor(l, q), matrix(qW, H)), (naming.layerTensor(l, k), matrix(kvW, H)),
                    (naming.layerTensor(l, v), matrix(kvW, H)),
                ]
                if queryKeyValueBias {
                    expected += [
                        (naming.layerTensor(l, q, "bias"), [qW]), (naming.layerTensor(l, k, "bias"), [kvW]),
                        (naming.layerTensor(l, v, "bias"), [kvW]),
                    ]
                }
            case .interleavedPerHead(let fused), .fusedColumns(let fused), .fusedRows(let fused):
                expected.append((naming.layerTensor(l, fused), matrix(qW + 2 * kvW, H)))
                if queryKeyValueBias { expected.append((naming.layerTensor(l, fused, "bias"), [qW + 2 * kvW])) }
            }
            let perHeadNorms = [
                (naming.perHeadQueryNorm, attentionHeadCount), (naming.perHeadKeyNorm, keyValueHeadCount),
            ]
            for case let (module?, heads) in perHeadNorms {
                if naming.perHeadNormsStacked {
                    expected.append((naming.layerTensor(l, module), [heads, headDimension]))
                } else {
                    expected += (0..<heads).map { (naming.layerTensor(l, "\(module).\($0)"), [headDimension]) }
                }
            }
            expected.append((naming.layerTensor(l, naming.attentionOutput), matrix(H, qW)))
            if outputProjectionBias { expected.append((naming.layerTensor(l, naming.attentionOutput, "bias"), [H])) }
            for module in [naming.mlpGate, naming.mlpUp].compactMap({ $0 }) {
                expected.append((naming.layerTensor(l, module), matrix(I, H)))
                if naming.mlpBias { expected.append((naming.layerTensor(l, module, "bias"), [I])) }
            }
            expected.append((naming.layerTensor(l, naming.mlpDown), matrix(H, I)))
            if naming.mlpBias { expected.append((naming.layerTensor(l, naming.mlpDown, "bias"), [H])) }
        }
        expected += norm(naming.finalNorm)
        if let head { expected.append((head, [vocabularySize, H])) }
        return expected
    }
}
