import Foundation

/// libFuzzer's entry point. One executable holds every harness; `METAMERGE_FUZZ_HARNESS` picks the one to run
/// (see docs/fuzzing.md): `safetensors-header`, `index-json`, `config-json`, `mergekit-yaml`, `hdf5-report` (damaged
/// files), `hdf5-report-schema` (sound files, fuzzed contents).
///
/// A harness feeds the bytes to a reader's public entry point and touches everything the reader returns. Any
/// thrown error is the expected outcome for bad input (its message is rendered too, so a crash while describing
/// an error is found); a trap, an out-of-bounds access or a leak is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    Harnesses.selected.run(bytes)
    return 0
}

/// Called once by libFuzzer before the first input: checks the harness name (so a typo fails at once, not as
/// millions of no-op runs) and, with `METAMERGE_FUZZ_MAKE_SEED=FILE`, writes the harness's generated seed and exits.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>?,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    let harness = Harnesses.selected
    if let seed = ProcessInfo.processInfo.environment["METAMERGE_FUZZ_MAKE_SEED"] {
        do {
            try harness.makeSeed(URL(fileURLWithPath: seed))
            exit(0)
        } catch {
            fail("cannot write the seed \(seed): \(error)")
        }
    }
    return 0
}

/// A fuzz harness: one reader, fed arbitrary bytes.
protocol Harness: Sendable {
    func run(_ bytes: UnsafeRawBufferPointer)
    /// Writes a seed the harness cannot take from the repository's fixtures (none by default).
    func makeSeed(_ url: URL) throws
}

extension Harness {
    func makeSeed(_ url: URL) throws {
        throw CocoaError(
            .featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "this harness has no generated seed"])
    }
}

enum Harnesses {
    static let all: [String: any Harness] = [
        "safetensors-header": SafeTensorsHeaderHarness(),
        "index-json": IndexJSONHarness(),
        "config-json": ConfigJSONHarness(),
        "mergekit-yaml": MergeKitYAMLHarness(),
        "hdf5-report": HDF5ReportHarness(),
        "hdf5-report-schema": HDF5ReportSchemaHarness(),
    ]

    static let selected: any Harness = {
        let name = ProcessInfo.processInfo.environment["METAMERGE_FUZZ_HARNESS"] ?? ""
        guard let harness = all[name] else {
            fail("set METAMERGE_FUZZ_HARNESS to one of \(all.keys.sorted().joined(separator: ", "))")
        }
        return harness
    }()
}

/// A private scratch directory for the files a harness writes (in /dev/shm when there is one: no disk I/O).
let scratchDirectory: URL = {
    let parent = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let url = URL(fileURLWithPath: parent).appendingPathComponent("metamerge-fuzz-\(getpid())")
    try? FileManager.default.removeItem(at: url)
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        fail("cannot create \(url.path): \(error)")
    }
    atexit { try? FileManager.default.removeItem(at: scratchDirectory) }
    return url
}()

/// Replaces the file at `url` with `bytes` (plain POSIX calls: fast, and nothing to fail but the disk).
func overwrite(_ url: URL, with bytes: UnsafeRawBufferPointer) {
    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "metamerge-fuzz: cannot open \(url.path): errno \(errno)")
    var offset = 0
    while offset < bytes.count {
        let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        precondition(written > 0, "metamerge-fuzz: cannot write \(url.path): errno \(errno)")
        offset += written
    }
    close(fd)
}

func overwrite(_ url: URL, with bytes: [UInt8]) {
    bytes.withUnsafeBytes { overwrite(url, with: $0) }
}

/// Renders an error the way the CLI does, so a crash while building a message is a finding too.
@inline(never)
func render(_ error: any Error) {
    blackHole(String(describing: error).utf8.count)
    blackHole(error.localizedDescription.utf8.count)
}

@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// A misuse of the harness itself (not a finding): message on stderr, exit 2.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("metamerge-fuzz: \(message)\n".utf8))
    exit(2)
}

// SwiftPM links an executable target with `main` renamed to `<module>_main` (`--defsym main=MetaMergeFuzz_main`,
// so that tests can link it); with `-parse-as-library` there is no top-level code to provide it. It is defined
// here, and hands the process to libFuzzer's driver exactly as libFuzzer's own `main` does.
typealias FuzzTestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzTestOneInput
) -> CInt

@_cdecl("MetaMergeFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv, fuzzTestOneInput)
}
