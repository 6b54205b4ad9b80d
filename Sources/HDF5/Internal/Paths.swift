import CHDF5

/// Absolute HDF5 paths ("/", "/a", "/a/b") and names relative to a group ("b", "b/c"; a leading "/" makes a name
/// absolute, as in HDF5 itself).
enum HDF5Path {
    static func components(of path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    static func absolute(_ components: some Collection<String>) -> String {
        "/" + components.joined(separator: "/")
    }

    /// The absolute path that `name` names from the group at `base`.
    static func resolve(_ name: String, relativeTo base: String, site: Site) throws -> String {
        let parts = components(of: name)
        guard !parts.isEmpty else {
            throw site.error(.invalidArgument("'\(name)' is not an object name (empty)"))
        }
        if let bad = parts.first(where: { $0 == "." }) {
            throw site.error(.invalidArgument("'\(name)' has a '\(bad)' component; use plain names"))
        }
        if name.utf8.contains(0) {
            throw site.error(.invalidArgument("an object name cannot contain a NUL character"))
        }
        return absolute((name.hasPrefix("/") ? [] : components(of: base)) + parts)
    }

    static func parent(of path: String) -> String {
        absolute(components(of: path).dropLast())
    }

    static func lastComponent(of path: String) -> String {
        components(of: path).last ?? "/"
    }
}

/// What an absolute path names in an open file.
enum Lookup: Equatable {
    /// The object exists and has this kind.
    case found(HDF5ObjectKind)
    /// `missing` is the first prefix of the path that does not exist (or is a dangling link).
    case missing(String)
    /// `path`, a prefix of the path, is an object other than a group, so nothing can be under it.
    case notAGroup(String, HDF5ObjectKind)

    /// Walks the path from the root, one link at a time: `H5Lexists` fails rather than answering "no" when an
    /// intermediate group is missing.
    init(fileID: hid_t, path: String) {
        var prefix: [String] = []
        let parts = HDF5Path.components(of: path)
        for (index, part) in parts.enumerated() {
            prefix.append(part)
            let current = HDF5Path.absolute(prefix)
            guard H5Lexists(fileID, current, Constants.defaultProperties) > 0,
                let kind = Lookup.kind(fileID: fileID, path: current)
            else {
                _ = chdf5_clear_errors()
                self = .missing(current)
                return
            }
            if index < parts.count - 1 && kind != .group {
                self = .notAGroup(current, kind)
                return
            }
            if index == parts.count - 1 {
                self = .found(kind)
                return
            }
        }
        self = .found(.group)  // the root
    }

    private static func kind(fileID: hid_t, path: String) -> HDF5ObjectKind? {
        let object = H5Oopen(fileID, path, Constants.defaultProperties)
        guard object >= 0 else { return nil }
        defer { _ = H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        case H5I_DATATYPE: return .namedDatatype
        default: return nil
        }
    }
}

extension Site {
    /// Checks that `path` names an object of `kind`, throwing the precise error otherwise.
    func requireObject(fileID: hid_t, path: String, kind expected: HDF5ObjectKind) throws {
        switch Lookup(fileID: fileID, path: path) {
        case .found(let kind) where kind == expected:
            return
        case .found(let kind):
            throw with(object: path).error(.wrongObjectKind(found: kind, expected: expected))
        case .missing(let missing):
            throw with(object: missing).error(.missingObject(missing == path ? expected : .group))
        case .notAGroup(let blocking, let kind):
            throw with(object: blocking).error(.wrongObjectKind(found: kind, expected: .group))
        }
    }

    /// Checks that `path` can be created: it does not exist, and every existing prefix is a group.
    func requireCreatable(fileID: hid_t, path: String) throws {
        switch Lookup(fileID: fileID, path: path) {
        case .found:
            throw with(object: path).error(.alreadyExists)
        case .missing:
            return  // missing intermediate groups are created
        case .notAGroup(let blocking, let kind):
            throw with(object: blocking).error(.wrongObjectKind(found: kind, expected: .group))
        }
    }

    func openObject(fileID: hid_t, path: String, kind: HDF5ObjectKind) throws -> Handle {
        try requireObject(fileID: fileID, path: path, kind: kind)
        switch kind {
        case .group:
            return try handle(H5Gopen2(fileID, path, Constants.defaultProperties), .group, "H5Gopen2")
        case .dataset:
            return try handle(H5Dopen2(fileID, path, Constants.defaultProperties), .dataset, "H5Dopen2")
        case .namedDatatype:
            return try handle(H5Oopen(fileID, path, Constants.defaultProperties), .object, "H5Oopen")
        }
    }

    /// A link creation property list that creates missing intermediate groups and marks names as UTF-8.
    func makeLinkCreationProperties() throws -> Handle {
        let list = try handle(H5Pcreate(Constants.linkCreateClass), .propertyList, "H5Pcreate")
        try check(H5Pset_create_intermediate_group(list.raw, 1), "H5Pset_create_intermediate_group")
        try check(H5Pset_char_encoding(list.raw, H5T_CSET_UTF8), "H5Pset_char_encoding")
        return list
    }
}
