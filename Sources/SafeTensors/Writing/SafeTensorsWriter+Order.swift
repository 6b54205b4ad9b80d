extension SafeTensorsWriter {
    /// The order in which a writer lays out (and must be given) tensors: the reference writer's order, dtype rank
    /// descending then name by UTF-8 bytes. Returns indices into `tensors`.
    ///
    /// Callers that plan several files before creating their writers (a sharded model) use this to know the
    /// append order in advance; it is the same order as ``tensors`` of a writer created for those tensors.
    public static func dataOrder(of tensors: [(name: String, dtype: DType)]) -> [Int] {
        tensors.indices.sorted { i, j in
            let a = tensors[i], b = tensors[j]
            return a.dtype.referenceOrderRank != b.dtype.referenceOrderRank
                ? a.dtype.referenceOrderRank > b.dtype.referenceOrderRank
                : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }
}
