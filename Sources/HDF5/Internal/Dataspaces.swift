import CHDF5

/// The shape of a dataspace and its number of elements.
struct Extent {
    var shape: [Int]
    var count: Int
}

extension Site {
    /// The shape of a dataspace; a scalar has shape `[]` and one element.
    func extent(of space: hid_t) throws -> Extent {
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR:
            return Extent(shape: [], count: 1)
        case H5S_SIMPLE:
            let rank = H5Sget_simple_extent_ndims(space)
            guard rank >= 0 else { throw failure("H5Sget_simple_extent_ndims") }
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            try check(H5Sget_simple_extent_dims(space, &dims, nil), "H5Sget_simple_extent_dims")
            var shape: [Int] = []
            for dim in dims {
                guard let extent = Int(exactly: dim) else {
                    throw error(.unsupported("an extent of \(dim) elements is too large"))
                }
                shape.append(extent)
            }
            return Extent(shape: shape, count: try elementCount(of: shape))
        case H5S_NULL:
            throw error(.unsupported("it has an empty (null) dataspace, which holds no values and no shape"))
        default:
            throw failure("H5Sget_simple_extent_type")
        }
    }

    func extent(ofDataset dataset: hid_t) throws -> Extent {
        let space = try handle(H5Dget_space(dataset), .dataspace, "H5Dget_space")
        return try extent(of: space.raw)
    }

    /// The product of the extents, checking for negative extents, too many dimensions and overflow.
    func elementCount(of shape: [Int]) throws -> Int {
        guard shape.count <= Constants.maximumRank else {
            let limit = Constants.maximumRank
            throw error(.invalidArgument("shape \(shape) has \(shape.count) dimensions; HDF5 allows at most \(limit)"))
        }
        var count = 1
        for extent in shape {
            guard extent >= 0 else { throw error(.invalidArgument("shape \(shape) has a negative extent")) }
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw error(.invalidArgument("shape \(shape) has too many elements")) }
            count = product
        }
        return count
    }

    /// A dataspace of `shape` (`[]` is a scalar), after checking that it holds exactly `valueCount` elements.
    func makeDataspace(shape: [Int], valueCount: Int) throws -> Handle {
        let count = try elementCount(of: shape)
        guard count == valueCount else {
            throw error(.invalidArgument("\(valueCount) values do not fill shape \(shape) (\(count) elements)"))
        }
        if shape.isEmpty {
            return try handle(H5Screate(H5S_SCALAR), .dataspace, "H5Screate")
        }
        let dims = shape.map { hsize_t($0) }
        return try handle(H5Screate_simple(Int32(dims.count), dims, nil), .dataspace, "H5Screate_simple")
    }

    /// The dataset creation property list for `compression`: chunked and deflated, or the default layout.
    func makeDatasetCreationProperties(shape: [Int], elementSize: Int, compression: HDF5Compression) throws -> Handle {
        let list = try handle(H5Pcreate(Constants.datasetCreateClass), .propertyList, "H5Pcreate")
        guard case .gzip(let level) = compression, !shape.isEmpty, !shape.contains(0) else { return list }
        guard (0...9).contains(level) else {
            throw error(.invalidArgument("gzip level \(level) is outside 0...9"))
        }
        guard try truth(H5Zfilter_avail(Constants.deflateFilter), "H5Zfilter_avail") else {
            throw error(.unsupported("this libhdf5 was built without the gzip (deflate) filter"))
        }
        let chunk = Self.chunkShape(for: shape, elementSize: elementSize).map { hsize_t($0) }
        try check(H5Pset_chunk(list.raw, Int32(chunk.count), chunk), "H5Pset_chunk")
        try check(H5Pset_deflate(list.raw, UInt32(level)), "H5Pset_deflate")
        return list
    }

    /// The dataset's shape with its largest extent halved until a chunk holds at most `targetBytes`.
    static func chunkShape(for shape: [Int], elementSize: Int, targetBytes: Int = 1 << 20) -> [Int] {
        var chunk = shape
        while chunk.reduce(elementSize, *) > targetBytes,
            let largest = chunk.indices.max(by: { chunk[$0] < chunk[$1] }), chunk[largest] > 1
        {
            chunk[largest] = (chunk[largest] + 1) / 2
        }
        return chunk
    }
}
