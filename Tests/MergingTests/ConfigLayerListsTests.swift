import Checkpoints
import Foundation
import Testing

@testable import Merging

/// The per-layer lists of config.json under a slice map; expected lists follow transformers 5.23's
/// `__post_init__` formulas (configuration_gemma3.py, configuration_qwen2.py), worked by hand.
@Suite("ConfigLayerLists: config.json's per-layer lists follow a slice map")
struct ConfigLayerListsTests {
    static let url = URL(fileURLWithPath: "/m/config.json")
    static let s = "\"sliding_attention\"", f = "\"full_attention\""

    static func config(_ text: String) throws -> ConfigJSONEditor {
        try ConfigJSONEditor(data: Data(text.utf8), url: url)
    }

    /// A map taking output layer i from layer `layers[i]` of model "m".
    static func map(_ layers: [Int]) -> [LayerMapEntry] {
        layers.enumerated().map { LayerMapEntry(output: $0, slice: 0, sources: [.init(reference: "m", layer: $1)]) }
    }

    @Test func gemma3PatternIsWrittenForTheSourceLayers() throws {
        // sliding_window_pattern 3: layers 2, 5 are full (i + 1 a multiple of 3), the others slide.
        let text = #"{"model_type": "gemma3_text", "num_hidden_layers": 6, "sliding_window_pattern": 3}"#
        #expect(
            try ConfigLayerLists.derivedLayerTypes(Self.config(text), key: "layer_types")
                == [Self.s, Self.s, Self.f, Self.s, Self.s, Self.f])
        var editor = try Self.config(text)
        let keys = try ConfigLayerLists.apply(to: &editor, layerMap: Self.map([2, 3, 5]), donor: "m") { _ in
            try Self.config(text)
        }
        #expect(keys == ["layer_types"])
        #expect(editor.elements("layer_types") == [Self.f, Self.s, Self.f])
    }

    @Test func qwen2SlidesFromMaxWindowLayersOnlyWithUseSlidingWindow() throws {
        let on = #"{"model_type": "qwen2", "num_hidden_layers": 4, "use_sliding_window": true, "max_window_layers": 1}"#
        #expect(
            try ConfigLayerLists.derivedLayerTypes(Self.config(on), key: "layer_types")
                == [Self.f, Self.s, Self.s, Self.s])
        let off = #"{"model_type": "qwen2", "num_hidden_layers": 4, "max_window_layers": 1}"#
        #expect(try ConfigLayerLists.derivedLayerTypes(Self.config(off), key: "layer_types") == nil)
    }

    @Test func indexListsKeepTheLayersWhoseSourceIsListed() throws {
        let text = #"{"num_hidden_layers": 4, "mlp_only_layers": [0, 3], "moe_layers": []}"#
        var editor = try Self.config(text)
        let keys = try ConfigLayerLists.apply(to: &editor, layerMap: Self.map([3, 3, 1, 0]), donor: "m") { _ in
            try Self.config(text)
        }
        #expect(keys == ["mlp_only_layers", "moe_layers"])
        #expect(editor.elements("mlp_only_layers") == ["0", "1", "3"])
        #expect(editor.elements("moe_layers") == [])
    }
}
