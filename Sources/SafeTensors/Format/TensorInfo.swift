/// One tensor's entry in a safetensors header: name, dtype, shape and where its bytes lie.
public struct TensorInfo: Sendable, Hashable {
    /// The tensor's name, the header key (any string except `__metadata__`; may be empty).
    public let name: String
    /// The element type.
    public let dtype: DType
    /// The dimensions, outermost first (C order). `[]` is a 0-d (scalar) tensor holding one element; a 0
    /// anywhere makes an empty tensor holding no bytes.
    public let shape: [Int]
    /// `[begin, end)` of the tensor's bytes, as in the header's `data_offsets`: relative to the start of the data
    /// section (the byte after the header), not to the start of the file.
    public let dataOffsets: Range<Int>

    /// Creates an entry. ``SafeTensorsFile`` creates these only after validating that the shape's element count
    /// times the dtype's size neither overflows nor disagrees with `dataOffsets`.
    public init(name: String, dtype: DType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// The number of elements: the product of `shape` (1 for a 0-d tensor, 0 if any dimension is 0).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The number of bytes: `elementCount × dtype.bitSize / 8`; equals `dataOffsets.count` for a validated entry.
    public var byteCount: Int { elementCount * dtype.bitSize / 8 }
}
