import Checkpoints
import Foundation
import Merging
import TestSupport
import Testing

/// A config's model references are read when they are resolved, not when the YAML is parsed: an existing path is a
/// path whatever its characters, and `+` / `@` are syntax only for a path that does not exist.
@Suite("Config model references: paths first, then BASE+ADAPTER or a hub id")
struct ModelReferenceConfigTests {
    @Test func plusAndAtParseAndAreReadOnlyWhenResolved() throws {
        let folder = try makeTemporaryDirectory("config-references")
        let yaml = "models: [{model: a+b/lora}, {model: org/name@main}]\nmerge_method: linear\n"
        let config = try MergeConfiguration(yaml: yaml, directory: folder)
        let lora = #expect(throws: MergeConfigError.self) { try config.resolveModel("a+b/lora") }
        #expect(lora?.kind == .badModel)
        #expect(lora?.description.contains("read as BASE+ADAPTER: unsupported LoRA reference 'a+b/lora'") == true)
        #expect((lora?.cause as? CheckpointError)?.kind == .badReference)
        let hub = #expect(throws: MergeConfigError.self) { try config.resolveModel("org/name@main") }
        #expect(hub?.description.contains("read as hub id 'org/name' at revision 'main'") == true)

        let odd = folder.appendingPathComponent("a+b/lora")
        try FileManager.default.createDirectory(at: odd, withIntermediateDirectories: true)
        #expect(try config.resolveModel("a+b/lora").path == odd.standardizedFileURL.path)
        #expect(try config.resolveReference("a+b/lora").name == "lora")
    }
}
