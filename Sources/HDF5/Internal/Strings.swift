import CHDF5
import Foundation

extension Site {
    /// Calls `body` with one NUL-terminated UTF-8 copy of each string, freed afterwards.
    func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) throws -> R) throws -> R {
        if let index = strings.firstIndex(where: { $0.utf8.contains(0) }) {
            throw error(.invalidArgument("string \(index) contains a NUL character, which HDF5 strings cannot hold"))
        }
        var copies: [UnsafeMutablePointer<CChar>?] = []
        copies.reserveCapacity(strings.count)
        defer { copies.forEach { free($0) } }
        for string in strings {
            guard let copy = strdup(string) else { throw error(.libraryFailure(call: "strdup")) }
            copies.append(copy)
        }
        return try body(copies.map { UnsafePointer($0) })
    }

    /// Reads `count` strings of the stored string type `type` through `read` (an `H5Dread` or `H5Aread` with the
    /// given memory type). Variable-length strings are read as such and their memory reclaimed; fixed-length ones
    /// are cut at the first NUL (and space-padded ones trimmed). Invalid UTF-8 is repaired with U+FFFD.
    func readStrings(
        type: hid_t, space: hid_t, count: Int, call: String,
        read: (_ memoryType: hid_t, _ buffer: UnsafeMutableRawPointer?) -> herr_t
    ) throws -> [String] {
        guard count > 0 else { return [] }
        let cset = H5Tget_cset(type)
        if try truth(H5Tis_variable_str(type), "H5Tis_variable_str") {
            let memoryType = try handle(H5Tcopy(Constants.cString), .datatype, "H5Tcopy")
            try check(H5Tset_size(memoryType.raw, Constants.variableSize), "H5Tset_size")
            try check(H5Tset_cset(memoryType.raw, cset), "H5Tset_cset")
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try pointers.withUnsafeMutableBytes { try check(read(memoryType.raw, $0.baseAddress), call) }
            defer { _ = pointers.withUnsafeMutableBytes { chdf5_vlen_reclaim(memoryType.raw, space, $0.baseAddress) } }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(type)
        guard size > 0 else { throw failure("H5Tget_size") }
        let memoryType = try handle(H5Tcopy(type), .datatype, "H5Tcopy")
        let spacePadded = H5Tget_strpad(type) == H5T_STR_SPACEPAD
        var bytes = [UInt8](repeating: 0, count: size * count)
        try bytes.withUnsafeMutableBytes { try check(read(memoryType.raw, $0.baseAddress), call) }
        return (0..<count).map { index in
            var element = bytes[(index * size)..<((index + 1) * size)]
            if let end = element.firstIndex(of: 0) { element = element[..<end] }
            if spacePadded { while element.last == UInt8(ascii: " ") { element = element.dropLast() } }
            return String(decoding: element, as: UTF8.self)
        }
    }
}
