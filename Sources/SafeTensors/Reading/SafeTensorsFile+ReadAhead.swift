import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SafeTensorsFile {
    /// Asks the kernel to start reading the pages holding elements `elements` of tensor `name` now
    /// (`madvise(MADV_WILLNEED)` on the whole pages covering that byte range), so that a pass reading tensors in
    /// file order finds the next one already in memory: one large sequential request instead of a page fault per
    /// 4 KiB. Returns at once; ignored for unknown names or empty ranges; never throws.
    public func prefetch(_ name: String, elements: Range<Int>) {
        #if os(Linux)
        guard let (start, end) = pageRange(name, elements, inward: false), let base = mapping.bytes.baseAddress
        else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_WILLNEED)
        #endif
    }

    /// Tells the kernel the pages holding elements `elements` of tensor `name` will not be read again soon: they
    /// leave this process's resident set (`madvise(MADV_DONTNEED)`) and the page cache
    /// (`posix_fadvise(POSIX_FADV_DONTNEED)`), so a pass over files larger than RAM evicts what it has finished
    /// with rather than what it is about to read. Nothing is lost (the mapping is read-only and file-backed); a
    /// later read comes from disk. Only whole pages inside the range are dropped. Never throws.
    public func evict(_ name: String, elements: Range<Int>) {
        #if os(Linux)
        releasePages(of: name, elements: elements)
        guard let (start, end) = pageRange(name, elements, inward: true) else { return }
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = posix_fadvise(fd, off_t(start), off_t(end - start), POSIX_FADV_DONTNEED)
        close(fd)
        #endif
    }

    /// The file byte range [start, end) of the elements, widened (`inward == false`) or narrowed to whole pages.
    private func pageRange(_ name: String, _ elements: Range<Int>, inward: Bool) -> (Int, Int)? {
        guard let info = info(name), !elements.isEmpty, elements.upperBound <= info.elementCount else { return nil }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = dataStart + info.dataOffsets.lowerBound + elements.lowerBound * info.dtype.byteSize
        let end = dataStart + info.dataOffsets.lowerBound + elements.upperBound * info.dtype.byteSize
        let pageStart = inward ? (start + page - 1) / page * page : start / page * page
        let pageEnd = inward ? end / page * page : min((end + page - 1) / page * page, mapping.bytes.count)
        return pageEnd > pageStart ? (pageStart, pageEnd) : nil
    }
}
