import Checkpoints
import Foundation

/// The per-layer entries of a `config.json`, re-laid for a `slices:` merge: output layer i takes the entry of the
/// layer it is merged from (its source in the config donor's model when that model is among the slice's sources,
/// else the slice's first source), read from that model's own config.json (the donor's when that model's lacks the
/// key).
///
/// Keys handled (transformers 5.23):
/// - lists with one entry per layer: `layer_types` (Qwen2/3, Gemma 2/3, Mistral, Cohere2, SmolLM3, …),
///   `mlp_layer_types`, `layers_block_type`, `no_rope_layers` (SmolLM3, Llama 4: a 0/1 flag per layer),
///   `num_attention_heads_per_layer`, `num_key_value_heads_per_layer`, `layer_rope_theta` — a list without
///   one entry per layer of its model is refused (``CheckpointError``, `badConfig`): it cannot be re-laid;
/// - lists of layer indices: `mlp_only_layers` (Qwen2-MoE/Qwen3-MoE), `moe_layers` (Llama 4) — output layer i is
///   listed when its source layer is;
/// - `layer_types` implied by a pattern when the config has none (transformers would re-derive it for the new layer
///   count, which a slice map does not follow): Gemma 2 (alternating, sliding first), Gemma 3 and Cohere2
///   (`sliding_window_pattern`, default 6 / 4: layer i slides unless (i + 1) is a multiple), Qwen2/Qwen3 with
///   `use_sliding_window: true` (layers ≥ `max_window_layers`, default 28, slide). The derived list is written out.
///
/// The layer count itself (`num_hidden_layers`, GPT-2's `n_layer`) is set by the caller.
enum ConfigLayerLists {
    static let perLayerKeys = ModelConfig.perLayerListKeys
    static let layerIndexKeys = ["mlp_only_layers", "moe_layers"]

    /// Rewrites the per-layer keys of `editor` (the donor's config) for `layerMap`; `configs` gives each input
    /// model's config.json by reference, `donor` is the reference of the model `editor` came from. Returns the keys
    /// rewritten.
    ///
    /// - Throws: ``CheckpointError`` naming the config.json whose per-layer list does not match its layer count.
    static func apply(
        to editor: inout ConfigJSONEditor, layerMap: [LayerMapEntry], donor: String,
        configs: (String) throws -> ConfigJSONEditor
    ) throws -> [String] {
        guard !layerMap.isEmpty else { return [] }
        let sources = layerMap.map { entry in entry.sources.first { $0.reference == donor } ?? entry.sources[0] }
        var rewritten: [String] = []
        var cache: [String: ConfigJSONEditor] = [:]
        // Every model's config as read (the donor's too: `editor` may already hold the new layer count).
        func config(_ reference: String) throws -> ConfigJSONEditor {
            if let known = cache[reference] { return known }
            let loaded = try configs(reference)
            cache[reference] = loaded
            return loaded
        }
        func layerCount(_ config: ConfigJSONEditor) -> Int? { config.int("num_hidden_layers") ?? config.int("n_layer") }

        let donorConfig = try config(donor)
        for key in perLayerKeys {
            // A list the donor states, or for `layer_types` one transformers would derive from a pattern.
            guard editor.elements(key) != nil || derivedLayerTypes(donorConfig, key: key) != nil else { continue }
            var entries: [String] = []
            for source in sources {
                // A source model whose config has no such list: the donor's (the models share an architecture).
                var model = try config(source.reference)
                if model.elements(key) == nil, derivedLayerTypes(model, key: key) == nil { model = donorConfig }
                let list = model.elements(key) ?? derivedLayerTypes(model, key: key) ?? []
                let count = layerCount(model) ?? list.count
                guard list.count == count, source.layer < list.count else {
                    throw CheckpointError(
                        .badConfig, url: model.url,
                        "'\(key)' has \(list.count) entries but the model has \(count) layers: expected one entry per "
                            + "layer, so the slices' layers cannot be given theirs")
                }
                entries.append(list[source.layer])
            }
            try editor.set(key, .array(entries))
            rewritten.append(key)
        }
        for key in layerIndexKeys where editor.elements(key) != nil {
            var listed: [String] = []
            for (output, source) in sources.enumerated() {
                let list = try config(source.reference).elements(key) ?? donorConfig.elements(key) ?? []
                if list.compactMap({ Int($0) }).contains(source.layer) { listed.append(String(output)) }
            }
            try editor.set(key, .array(listed))
            rewritten.append(key)
        }
        return rewritten
    }

    /// The `layer_types` transformers 5.23 derives for a config that has none (see the type's comment), as JSON
    /// strings; `nil` for another key, a config that states the list, or a model type that derives none.
    static func derivedLayerTypes(_ config: ConfigJSONEditor, key: String) -> [String]? {
        guard key == "layer_types", config.elements("layer_types") == nil,
            let count = config.int("num_hidden_layers"), count > 0
        else { return nil }
        let sliding = "\"sliding_attention\"", full = "\"full_attention\""
        switch config.string("model_type") {
        case "gemma2":
            return (0..<count).map { ($0 + 1) % 2 != 0 ? sliding : full }
        case "gemma3", "gemma3_text", "cohere2":
            let fallback = config.string("model_type") == "cohere2" ? 4 : 6
            let period = config.int("sliding_window_pattern") ?? fallback
            guard period > 0 else { return nil }
            return (0..<count).map { ($0 + 1) % period != 0 ? sliding : full }
        case "qwen2", "qwen3":
            guard config.bool("use_sliding_window") == true, config.rawValue("sliding_window") != "null" else {
                return nil
            }
            let first = config.int("max_window_layers") ?? 28
            return (0..<count).map { $0 >= first ? sliding : full }
        default:
            return nil
        }
    }
}
