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
        .library(name: "Statistics", targets: ["Statistics"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
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
        .target(name: "JSONCore"),
        // The vector inner loops, one clone per x86-64 level chosen at load time (Sources/CKernels/include).
        .target(name: "CKernels"),
        .target(name: "SafeTensors", dependencies: ["JSONCore", "CKernels"]),
        .target(name: "Interruption"),
        .target(name: "Workers", dependencies: ["Interruption"]),
        .target(name: "Checkpoints", dependencies: ["JSONCore", "SafeTensors", "Interruption"]),
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(name: "Tokenizers", dependencies: ["JSONCore", "Interruption"]),
        .target(
            name: "Transformer",
            dependencies: ["Checkpoints", "SafeTensors", "Workers", "Interruption", "CBLAS", "CKernels"]),
        .target(
            name: "Statistics",
            dependencies: [
                "JSONCore", "Checkpoints", "SafeTensors", "Workers", "Interruption", "HDF5", "CKernels", "CBLAS",
            ]),
        .target(
            name: "Merging",
            dependencies: [
                "SafeTensors", "Checkpoints", "Statistics", "Tokenizers", "Workers", "Interruption", "CKernels",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "Evaluation",
            dependencies: [
                "JSONCore", "Statistics", "Merging", "Checkpoints", "SafeTensors", "Transformer", "Tokenizers",
                "Workers", "Interruption", "HDF5",
            ]),
        .executableTarget(
            name: "MetaMergeCLI",
            dependencies: [
                "SafeTensors", "Checkpoints", "HDF5", "Transformer", "Statistics", "Evaluation", "Merging",
                "Tokenizers", "Interruption",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "TestSupport", dependencies: ["SafeTensors"], path: "Tests/TestSupport"),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "JSONCore", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "SafeTensors", "JSONCore", "TestSupport"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
        .testTarget(
            name: "TransformerTests", dependencies: ["Transformer", "Checkpoints", "SafeTensors", "TestSupport"]),
        .testTarget(
            name: "StatisticsTests",
            dependencies: ["Statistics", "Checkpoints", "SafeTensors", "HDF5", "JSONCore", "TestSupport"]),
        .testTarget(
            name: "EvaluationTests",
            dependencies: [
                "Evaluation", "Statistics", "Merging", "Checkpoints", "SafeTensors", "Transformer", "HDF5",
                "Tokenizers", "JSONCore", "TestSupport",
            ]),
        .testTarget(
            name: "MergingTests",
            dependencies: [
                "Merging", "Statistics", "Checkpoints", "SafeTensors", "CKernels", "TestSupport",
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(name: "CLITests", dependencies: ["MetaMergeCLI", "SafeTensors", "HDF5", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "JSONCore", "TestSupport"]),
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
            dependencies: ["SafeTensors", "Checkpoints", "Transformer", "Statistics", "HDF5", "Merging"],
            path: "Sources/Fuzz/MetaMergeFuzz"))
}

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    // Every module a file uses the members of is imported by that file, and declared above for its target.
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
