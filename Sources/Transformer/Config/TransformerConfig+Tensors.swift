extension TransformerConfig {
    /// Every tensor the config implies, with its shape: the embedding, per layer the norms of its placement, the
    /// q/k/v/o projections (biases and per-head q/k norms when the recipe has them) and the MLP, the final norm,
    /// and `lm_head.weight` when `storesHead` (the output projection is the embedding otherwise).
    func tensorShapes(storesHead: Bool) -> [(String, [Int])] {
        let H = hiddenSize
        let I = intermediateSize
        let qW = queryWidth
        let kvW = keyValueWidth
        var expected: [(String, [Int])] = [(TensorNames.embedding, [vocabularySize, H])]
        for index in 0..<layerCount {
            let layer = TensorNames.Layer(index)
            if normPlacement != .postNorm { expected.append((layer.inputNorm, [H])) }
            if fusedProjections {
                expected += [(layer.attention("qkv_proj"), [qW + 2 * kvW, H]), (layer.attention("o_proj"), [H, qW])]
            } else {
                expected += [
                    (layer.attention("q_proj"), [qW, H]), (layer.attention("k_proj"), [kvW, H]),
                    (layer.attention("v_proj"), [kvW, H]), (layer.attention("o_proj"), [H, qW]),
                ]
            }
            expected.append((layer.postAttentionNorm, [H]))
            if let experts, experts.isSparse(layer: index) {
                expected += experts.tensorShapes(layer, hiddenSize: H)
            } else if fusedProjections {
                expected += [(layer.mlp("gate_up_proj"), [2 * I, H]), (layer.mlp("down_proj"), [H, I])]
            } else {
                expected += [
                    (layer.mlp("gate_proj"), [I, H]), (layer.mlp("up_proj"), [I, H]), (layer.mlp("down_proj"), [H, I]),
                ]
            }
            if normPlacement == .sandwich {
                expected += [(layer.preFeedforwardNorm, [H]), (layer.postFeedforwardNorm, [H])]
            }
            if normPlacement == .postNorm { expected.append((layer.postFeedforwardNorm, [H])) }
            if queryKeyNorm {
                expected += [
                    (layer.attention("q_norm"), [queryKeyNormAcrossHeads ? qW : headDimension]),
                    (layer.attention("k_norm"), [queryKeyNormAcrossHeads ? kvW : headDimension]),
                ]
            }
            if queryKeyValueBias {
                expected += [
                    (layer.attention("q_proj", "bias"), [qW]), (layer.attention("k_proj", "bias"), [kvW]),
                    (layer.attention("v_proj", "bias"), [kvW]),
                ]
            }
            if outputProjectionBias {
                expected.append((layer.attention("o_proj", "bias"), [H]))
            }
        }
        expected.append((TensorNames.finalNorm, [H]))
        if storesHead { expected.append((TensorNames.lmHead, [vocabularySize, H])) }
        return expected
    }
}
