import Foundation
import HDF5
import Testing

@Suite("Bad files")
struct BadFileTests {
    @Test func missingFile() throws {
        let url = try temporaryHDF5File("absent.h5")
        let error = HDF5Error(file: url.path, reason: .fileNotFound)
        #expect(throws: error) { try HDF5File.open(at: url) }
        #expect(error.description == "\(url.path): no such file")
    }

    @Test(arguments: [
        Data("model_type: llama\nthis is not HDF5\n".utf8),
        Data(),
        Data([0x89, 0x48, 0x44, 0x46]),  // the first half of the signature
    ])
    func notHDF5(_ contents: Data) throws {
        let url = try temporaryHDF5File("other.h5")
        try contents.write(to: url)
        let error = HDF5Error(file: url.path, reason: .notHDF5File)
        #expect(throws: error) { try HDF5File.open(at: url) }
        #expect(throws: error) { try HDF5File.open(at: url, mode: .readWrite) }
        #expect(error.description == "\(url.path): not an HDF5 file")
    }

    @Test func directoryIsNotAFile() throws {
        let url = try temporaryHDF5File("folder.h5")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        #expect(throws: HDF5Error(file: url.path, reason: .notHDF5File)) { try HDF5File.open(at: url) }
    }

    /// A complete file cut to half its length keeps its signature, so HDF5 itself must notice the truncation.
    @Test func truncatedFile() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { try $0.root.createDataset("x", values: (0..<10_000).map(Double.init)) }
        let whole = try Data(contentsOf: url)
        try whole.prefix(whole.count / 2).write(to: url)
        let error = #expect(throws: HDF5Error.self) { try HDF5File.open(at: url) }
        #expect(error == HDF5Error(file: url.path, reason: .cannotOpen))
        #expect(error?.libraryMessage?.contains("truncated file") == true, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("\(url.path): cannot open the HDF5 file") == true)
    }

    @Test func createInMissingDirectory() throws {
        let url = try temporaryHDF5File().deletingLastPathComponent().appendingPathComponent("no/such/dir/x.h5")
        let error = #expect(throws: HDF5Error.self) { try HDF5File.create(at: url) }
        #expect(error == HDF5Error(file: url.path, reason: .libraryFailure(call: "H5Fcreate")))
    }
}

@Suite("Bad requests")
struct BadRequestTests {
    /// A file with `/y` (group), `/y/ints` (Int64), `/names` (strings) and an attribute `eps` on `/y`.
    private func makeFile() throws -> (URL, HDF5Group) {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { file in
            let group = try file.root.createGroup("y")
            try group.createDataset("ints", values: [Int64(1), 2])
            try group.setAttribute("eps", 1e-3)
            try group.setAttribute("label", "λ")
            try file.root.createDataset("names", strings: ["a"])
        }
        return (url, try HDF5File.open(at: url).root)
    }

    @Test func missingDataset() throws {
        let (url, root) = try makeFile()
        let error = HDF5Error(file: url.path, object: "/y/x", reason: .missingObject(.dataset))
        #expect(throws: error) { try root.dataset("y/x") }
        #expect(throws: error) { try root.group("y").dataset("x") }
        #expect(error.description == "\(url.path): no dataset 'x' in group '/y'")
    }

    @Test func missingIntermediateGroup() throws {
        let (url, root) = try makeFile()
        let error = HDF5Error(file: url.path, object: "/a", reason: .missingObject(.group))
        #expect(throws: error) { try root.dataset("a/b/c") }
        #expect(error.description == "\(url.path): no group 'a' in group '/'")
    }

    @Test func wrongKinds() throws {
        let (url, root) = try makeFile()
        let groupNotDataset = HDF5Error(
            file: url.path, object: "/y", reason: .wrongObjectKind(found: .group, expected: .dataset))
        #expect(throws: groupNotDataset) { try root.dataset("y") }
        #expect(groupNotDataset.description == "\(url.path): '/y' is a group, not a dataset")
        let throughDataset = HDF5Error(
            file: url.path, object: "/y/ints", reason: .wrongObjectKind(found: .dataset, expected: .group))
        #expect(throws: throughDataset) { try root.group("y/ints/deeper") }
        #expect(throws: throughDataset) { try root.group("y/ints") }
    }

    @Test func wrongDatasetType() throws {
        let (url, root) = try makeFile()
        let ints = try root.dataset("y/ints")
        let error = HDF5Error(
            file: url.path, object: "/y/ints", reason: .typeMismatch(found: "Int64", expected: "Float64"))
        #expect(throws: error) { try ints.read(Double.self) }
        #expect(error.description == "\(url.path): dataset '/y/ints' has type Int64, expected Float64")
        #expect(
            throws: HDF5Error(
                file: url.path, object: "/y/ints", reason: .typeMismatch(found: "Int64", expected: "Int32"))
        ) {
            try ints.read(Int32.self)
        }
        #expect(
            throws: HDF5Error(
                file: url.path, object: "/y/ints", reason: .typeMismatch(found: "Int64", expected: "String"))
        ) {
            try ints.readStrings()
        }
        #expect(
            throws: HDF5Error(
                file: url.path, object: "/names", reason: .typeMismatch(found: "String", expected: "UInt8"))
        ) {
            try root.dataset("names").read(UInt8.self)
        }
    }

    @Test func missingAndMistypedAttributes() throws {
        let (url, root) = try makeFile()
        let group = try root.group("y")
        let missing = HDF5Error(file: url.path, object: "/y", attribute: "epsilon", reason: .missingAttribute)
        #expect(throws: missing) { try group.attribute("epsilon", as: Double.self) }
        #expect(throws: missing) { try group.attribute("epsilon") }
        #expect(missing.description == "\(url.path): no attribute 'epsilon' on '/y'")
        let mistyped = HDF5Error(
            file: url.path, object: "/y", attribute: "label",
            reason: .typeMismatch(found: "String", expected: "Float64"))
        #expect(throws: mistyped) { try group.attribute("label", as: Double.self) }
        #expect(mistyped.description == "\(url.path): attribute 'label' of '/y' has type String, expected Float64")
        #expect(
            throws: HDF5Error(
                file: url.path, object: "/y", attribute: "eps",
                reason: .typeMismatch(found: "Float64", expected: "[Float64]"))
        ) { try group.attribute("eps", as: [Double].self) }
        #expect(
            throws: HDF5Error(
                file: url.path, object: "/y", attribute: "eps",
                reason: .typeMismatch(found: "Float64", expected: "Int64"))
        ) { try group.attribute("eps", as: Int64.self) }
    }

    @Test func changesToAReadOnlyFile() throws {
        let (url, root) = try makeFile()
        let error = HDF5Error(file: url.path, object: "/new", reason: .fileIsReadOnly)
        #expect(throws: error) { try root.createGroup("new") }
        #expect(throws: error) { try root.createDataset("new", values: [1.0]) }
        #expect(throws: HDF5Error(file: url.path, object: "/y/ints", reason: .fileIsReadOnly)) {
            try root.dataset("y/ints").write([Int64(3), 4])
        }
        #expect(throws: HDF5Error(file: url.path, object: "/y", attribute: "eps", reason: .fileIsReadOnly)) {
            try root.group("y").setAttribute("eps", 2.0)
        }
        #expect(error.description.contains("read-only"))
    }

    @Test func closedFile() throws {
        let url = try temporaryHDF5File()
        let file = try HDF5File.create(at: url)
        let group = try file.root.createGroup("g")
        try file.close()
        #expect(throws: HDF5Error(file: url.path, object: "/g", reason: .fileIsClosed)) { try group.memberNames() }
        #expect(throws: HDF5Error(file: url.path, object: "/g/x", reason: .fileIsClosed)) {
            try group.createDataset("x", values: [1.0])
        }
    }

    @Test func badArgumentsWhenWriting() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { file in
            let root = file.root
            try root.createGroup("g")
            try root.createDataset("d", values: [1.0, 2.0])
            func invalid(_ object: String?, _ text: String) -> HDF5Error {
                HDF5Error(file: url.path, object: object, reason: .invalidArgument(text))
            }
            #expect(throws: invalid("/m", "3 values do not fill shape [2, 2] (4 elements)")) {
                try root.createDataset("m", values: [1.0, 2, 3], shape: [2, 2])
            }
            #expect(throws: invalid("/m", "shape [-1, 2] has a negative extent")) {
                try root.createDataset("m", values: [Int32](), shape: [-1, 2])
            }
            #expect(throws: invalid("/m", "gzip level 12 is outside 0...9")) {
                try root.createDataset("m", values: [1.0], compression: .gzip(level: 12))
            }
            #expect(throws: invalid("/m", "string 1 contains a NUL character, which HDF5 strings cannot hold")) {
                try root.createDataset("m", strings: ["fine", "not\u{0}fine"])
            }
            #expect(throws: invalid("/", "'' is not an object name (empty)")) { try root.createGroup("") }
            #expect(throws: invalid("/d", "3 values for a dataset of shape [2] (2 elements)")) {
                try root.dataset("d").write([1.0, 2, 3])
            }
            #expect(throws: HDF5Error(file: url.path, object: "/m", reason: .missingObject(.dataset))) {
                try root.dataset("m")  // every failed creation left nothing behind
            }
            #expect(throws: HDF5Error(file: url.path, object: "/g", reason: .alreadyExists)) {
                try root.createGroup("g")
            }
            #expect(throws: HDF5Error(file: url.path, object: "/d", reason: .alreadyExists)) {
                try root.createDataset("d", strings: [])
            }
            #expect(
                throws: HDF5Error(
                    file: url.path, object: "/d", reason: .wrongObjectKind(found: .dataset, expected: .group))
            ) {
                try root.createDataset("d/inside", values: [1.0])
            }
            #expect(
                throws: HDF5Error(
                    file: url.path, object: "/d", reason: .typeMismatch(found: "Float64", expected: "Float32"))
            ) {
                try root.dataset("d").write([Float(1), 2])
            }
            #expect(
                throws: HDF5Error(
                    file: url.path, object: "/", attribute: "s",
                    reason: .invalidArgument("string 0 contains a NUL character, which HDF5 strings cannot hold"))
            ) {
                try root.setAttribute("s", "\u{0}")
            }
            #expect(try !root.hasAttribute("s"))
        }
    }
}
