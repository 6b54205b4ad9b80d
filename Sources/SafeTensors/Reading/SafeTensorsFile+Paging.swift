import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SafeTensorsFile {
    /// Tells the kernel this process is done with the pages holding elements `elements` of tensor `name`
    /// (`madvise(MADV_DONTNEED)` on the whole pages inside that byte range).
    ///
    /// The mapping is read-only and file-backed, so nothing is lost: the pages stay in the page cache and a later
    /// read faults them back in. What changes is that they stop counting towards this process's resident memory,
    /// so a pass over a model larger than RAM keeps its footprint at the size of what it is working on. Ignored
    /// for unknown names or empty ranges; never throws.
    public func releasePages(of name: String, elements: Range<Int>) {
        #if os(Linux)
        guard let info = info(name), !elements.isEmpty, let base = mapping.bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = dataStart + info.dataOffsets.lowerBound + elements.lowerBound * info.dtype.byteSize
        let end = dataStart + info.dataOffsets.lowerBound + elements.upperBound * info.dtype.byteSize
        let alignedStart = (start + page - 1) / page * page
        let alignedEnd = end / page * page
        guard alignedEnd > alignedStart else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + alignedStart), alignedEnd - alignedStart, MADV_DONTNEED)
        #endif
    }
}
