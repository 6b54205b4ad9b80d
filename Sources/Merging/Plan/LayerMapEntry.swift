/// One output layer of a sliced merge: its index and the (model, layer) pairs it is merged from.
public struct LayerMapEntry: Sendable, Hashable {
    public let output: Int
    public let slice: Int
    public let sources: [Source]

    public struct Source: Sendable, Hashable {
        public let reference: String
        public let layer: Int
    }
}
