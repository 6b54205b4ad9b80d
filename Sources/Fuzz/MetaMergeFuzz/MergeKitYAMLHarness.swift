import Foundation
import Merging

/// `MergeConfiguration(yaml:directory:)` — Yams (libyaml) composition, then MetaMerge's MergeKit schema: keys,
/// methods, models, parameters (scalars, gradients, `filter` conditionals), dtypes, the `gate:` block — and
/// each model reference resolved against a scratch folder.
///
/// Bytes that are not UTF-8 are decoded with replacement characters (`MergeConfiguration.load` refuses them
/// before parsing, so the parser only ever sees text).
struct MergeKitYAMLHarness: Harness {
    let directory = scratchDirectory.appendingPathComponent("yaml")

    func run(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            let configuration = try MergeConfiguration(yaml: text, directory: directory)
            blackHole(configuration.method)
            blackHole(String(describing: configuration.parameters))
            for reference in configuration.models.map(\.reference) + [configuration.baseModel].compactMap({ $0 }) {
                do {
                    blackHole(try configuration.resolveModel(reference))
                } catch {
                    render(error)
                }
            }
        } catch {
            render(error)
        }
    }
}
