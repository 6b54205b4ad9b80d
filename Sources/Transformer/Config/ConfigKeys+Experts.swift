import Checkpoints

extension ConfigKeys {
    /// The number of experts: `num_local_experts`, or `num_experts` (transformers maps one onto the other); both
    /// present must agree. `fallback` when neither is.
    func expertCount(default fallback: Int) throws -> Int {
        let local = try int("num_local_experts")
        let named = try int("num_experts")
        if let local, let named, local != named {
            throw TransformerError(
                .badConfig,
                "config.json states num_local_experts \(local) and num_experts \(named); expected one expert count")
        }
        return local ?? named ?? fallback
    }

    /// `router_jitter_noise` (default 0): multiplicative noise on the router's input during training only; read and
    /// checked, it has no effect in evaluation (transformers applies it only when `self.training`).
    func checkRouterJitter() throws {
        if let noise = try double("router_jitter_noise"), !(noise >= 0 && noise.isFinite) {
            throw TransformerError(
                .badConfig, "config.json key router_jitter_noise is \(noise); expected a finite number ≥ 0")
        }
    }

    /// Qwen3-MoE's sparse layers: layer ℓ routes through the experts unless `mlp_only_layers` lists it or
    /// (ℓ + 1) is not a multiple of `decoder_sparse_step` (default 1); entries outside the layers are ignored, as
    /// transformers ignores them.
    func sparseLayers(layerCount: Int) throws -> [Bool] {
        let step = try int("decoder_sparse_step") ?? 1
        guard step > 0 else {
            throw TransformerError(
                .badConfig, "config.json key decoder_sparse_step is \(step); expected a positive integer")
        }
        var dense = Set<Int>()
        if let value = value("mlp_only_layers") {
            guard case .array(let items) = value else {
                throw TransformerError(
                    .badConfig,
                    "config.json key mlp_only_layers is \(ConfigKeys.describe(value)); expected an array of layer "
                        + "indices")
            }
            for item in items {
                guard case .number(let number) = item, number.rounded() == number, abs(number) < 9e15 else {
                    throw TransformerError(
                        .badConfig, "config.json key mlp_only_layers has entry \(item); expected a layer index")
                }
                dense.insert(Int(number))
            }
        }
        return (0..<layerCount).map { !dense.contains($0) && ($0 + 1) % step == 0 }
    }
}
