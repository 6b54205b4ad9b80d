import Checkpoints
import Foundation
import Transformer

/// `ModelConfig(contentsOf:)` on the input as `config.json`, every typed property, then `TransformerConfig`
/// built from it (the forward pass's view: sizes, heads, RoPE, norms — whose checks must refuse, not trap on,
/// any combination of values).
struct ConfigJSONHarness: Harness {
    let url = scratchDirectory.appendingPathComponent("config.json")

    func run(_ bytes: UnsafeRawBufferPointer) {
        overwrite(url, with: bytes)
        let config: ModelConfig
        do {
            config = try ModelConfig(contentsOf: url)
        } catch {
            render(error)
            return
        }
        blackHole(config.architectures)
        blackHole(config.modelType)
        blackHole(
            [
                config.hiddenSize, config.intermediateSize, config.numHiddenLayers, config.numAttentionHeads,
                config.numKeyValueHeads, config.headDim, config.vocabSize, config.maxPositionEmbeddings,
            ])
        blackHole([config.rmsNormEps, config.ropeTheta])
        blackHole([config.attentionBias, config.tieWordEmbeddings])
        do {
            let transformer = try TransformerConfig(config)
            blackHole(String(describing: transformer))
            // What the forward pass derives from a validated config: must be representable.
            blackHole([transformer.queryWidth, transformer.keyValueWidth])
        } catch {
            render(error)
        }
    }
}
