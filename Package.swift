// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "MetaMerge",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "metamerge", targets: ["MetaMergeCLI"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "Transformer", targets: ["Transformer"]),
        .library(name: "Analysis", targets: ["Analysis"]),
        .library(name: "Merging", targets: ["Merging"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        // The vector inner loops, one clone per x86-64 level chosen at load time (Sources/CKernels/include).
        .target(name: "CKernels"),
        .target(name: "SafeTensors", dependencies: ["CKernels"]),
        .target(name: "Interruption"),
        .target(name: "Workers", dependencies: ["Interruption"]),
        .target(name: "Checkpoints", dependencies: ["SafeTensors", "Interruption"]),
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(name: "Tokenizers", dependencies: ["Interruption"]),
        .target(name: "Transformer", dependencies: ["Checkpoints", "Workers", "Interruption", "CBLAS"]),
        .target(
            name: "Analysis",
            dependencies: ["Checkpoints", "Transformer", "Workers", "Interruption", "HDF5", "Tokenizers", "CKernels"]),
        .target(
            name: "Merging",
            dependencies: [
                "Checkpoints", "Analysis", "Workers", "Interruption", "CKernels",
                .product(name: "Yams", package: "Yams"),
            ]),
        .executableTarget(
            name: "MetaMergeCLI",
            dependencies: [
                "SafeTensors", "Checkpoints", "HDF5", "Transformer", "Analysis", "Merging",
                "Tokenizers", "Interruption",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
        .testTarget(
            name: "TransformerTests", dependencies: ["Transformer", "Checkpoints", "SafeTensors", "TestSupport"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "HDF5", "Tokenizers", "TestSupport"]),
        .testTarget(name: "MergingTests", dependencies: ["Merging", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["MetaMergeCLI", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "WorkersTests", dependencies: ["Workers"]),
    ]
)

// Fuzz harnesses (docs/fuzzing.md): declared only when METAMERGE_FUZZ=1, because they need
// `-sanitize=fuzzer` to link (libFuzzer provides `main`); `make fuzz` sets it. Plain `swift build` and
// `swift test` never see them.
if Context.environment["METAMERGE_FUZZ"] == "1" {
    package.products.append(.executable(name: "metamerge-fuzz", targets: ["MetaMergeFuzz"]))
    package.targets.append(
        .executableTarget(
            name: "MetaMergeFuzz",
            dependencies: ["SafeTensors", "Checkpoints", "Transformer", "Analysis", "HDF5", "Merging"],
            path: "Sources/Fuzz/MetaMergeFuzz"))
}

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    target.swiftSettings = settings
}
