import Foundation
import TestSupport
import Testing

/// `inspect` on checkpoints past 2³¹ parameters (every 8B+ model): the exact count beside the rounded one. The
/// checkpoint is a sparse file — a valid header for one BF16 tensor of 65 536 × 32 769 = 2 147 549 184 elements, the
/// data a hole — so the test writes a few bytes, not 4.3 GB.
@Suite("inspect counts past 2^31")
struct InspectCountTests {
    @Test func parameterCountPast32Bits() throws {
        let directory = try makeTemporaryDirectory("inspect-count")
        let file = directory.appendingPathComponent("model.safetensors")
        let elements = 65_536 * 32_769
        let header = #"{"w":{"dtype":"BF16","shape":[65536,32769],"data_offsets":[0,\#(2 * elements)]}}"#
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        try bytes.write(to: file)
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: UInt64(bytes.count + 2 * elements))
        try handle.close()

        let result = try MetaMergeProcess.run(["inspect", file.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("2.15 B (2147549184)"), "\(result.stdout)")
    }
}
