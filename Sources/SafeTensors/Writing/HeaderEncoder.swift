/// Writes a header's JSON exactly as the reference writer (`safetensors` 0.8, via `serde_json`) does, so files
/// written here are byte-identical to `safetensors.torch.save_file` / `safetensors.numpy.save_file` output for the
/// same tensors and metadata.
///
/// Layout: `{"__metadata__":{"k":"v",…},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},…}` with no
/// whitespace, tensors in data order, then spaces up to a multiple of 8 bytes. The reference writer emits
/// metadata keys in hash-map order (unspecified); here they are sorted by UTF-8 bytes, which coincides whenever
/// there is a single key (the common `{"format":"pt"}`).
enum HeaderEncoder {
    static func encode(tensors: [TensorInfo], metadata: [String: String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + tensors.count * 96)
        out.append(UInt8(ascii: "{"))
        var first = true
        if !metadata.isEmpty {
            appendString("__metadata__", to: &out)
            out.append(contentsOf: Array(":{".utf8))
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendString(metadata[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
            first = false
        }
        for info in tensors {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendString(info.name, to: &out)
            out.append(contentsOf: Array(":{\"dtype\":".utf8))
            appendString(info.dtype.rawValue, to: &out)
            out.append(contentsOf: Array(",\"shape\":[".utf8))
            out.append(contentsOf: Array(info.shape.map(String.init).joined(separator: ",").utf8))
            out.append(contentsOf: Array("],\"data_offsets\":[".utf8))
            out.append(contentsOf: Array("\(info.dataOffsets.lowerBound),\(info.dataOffsets.upperBound)]}".utf8))
        }
        out.append(UInt8(ascii: "}"))
        while out.count % 8 != 0 { out.append(UInt8(ascii: " ")) }
        return out
    }

    /// A JSON string as `serde_json` writes it: `"` and `\` escaped, control characters as `\b \t \n \f \r` or
    /// `\u00xx` (lowercase hex), everything else (including non-ASCII and DEL) verbatim.
    static func appendString(_ string: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
