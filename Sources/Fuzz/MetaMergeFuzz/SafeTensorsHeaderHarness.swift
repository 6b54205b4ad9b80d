import Foundation
import SafeTensors

/// `SafeTensorsFile(url:)` — header length, UTF-8, strict JSON, entries, offsets — then every tensor read back.
///
/// Each input is tried twice: as a whole file (the seeds are real `.safetensors` files), and split at its first
/// 0xFF byte (a byte UTF-8 never contains) into header JSON and data section, with the 8-byte length prefix
/// computed — so mutations of the JSON reach the validator instead of stopping at a length mismatch.
struct SafeTensorsHeaderHarness: Harness {
    let url = scratchDirectory.appendingPathComponent("fuzz.safetensors")

    func run(_ bytes: UnsafeRawBufferPointer) {
        check(bytes)
        if let split = bytes.firstIndex(of: 0xFF) {
            var file = [UInt8]()
            file.reserveCapacity(bytes.count + 7)
            withUnsafeBytes(of: UInt64(split).littleEndian) { file.append(contentsOf: $0) }
            file.append(contentsOf: bytes[..<split])
            file.append(contentsOf: bytes[(split + 1)...])
            file.withUnsafeBytes { check($0) }
        }
    }

    private func check(_ bytes: UnsafeRawBufferPointer) {
        overwrite(url, with: bytes)
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(url: url)
        } catch {
            render(error)
            return
        }
        blackHole(file.metadata.count)
        for info in file.tensors {
            blackHole(file.info(info.name)?.shape)
            do {
                let sum = try file.withRawBytes(info.name) { raw in raw.reduce(0) { $0 &+ Int($1) } }
                blackHole(sum)
                if info.dtype.isFloatingPoint {
                    let count = info.elementCount
                    var values = [Float](repeating: 0, count: count)
                    try values.withUnsafeMutableBufferPointer { try file.readFloat32(info.name, into: $0) }
                    if count > 1 {
                        var half = [Float](repeating: 0, count: count / 2)
                        try half.withUnsafeMutableBufferPointer {
                            try file.readFloat32(info.name, elements: (count - count / 2)..<count, into: $0)
                        }
                        precondition(
                            half.elementsEqual(values[(count - count / 2)...], by: { $0.bitPattern == $1.bitPattern }),
                            "a partial read differs from the whole tensor's read")
                    }
                }
            } catch {
                render(error)
            }
        }
    }
}
