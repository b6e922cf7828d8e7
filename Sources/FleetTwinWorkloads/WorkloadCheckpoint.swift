import FleetTwinTensor

/// The checkpoint format of a workload: "FTWK", format version, the spec, then the kind's state.
///
/// Restoring builds a fresh object from bytes alone, as another node would after a migration.
public enum WorkloadCheckpoint {
    public static let magic: UInt32 = 0x4B57_5446 // "FTWK" little-endian
    public static let formatVersion = 1

    public static func bytes(of workload: any Workload) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(magic)
        writer.write(formatVersion)
        workload.spec.encode(to: &writer)
        workload.encodeState(to: &writer)
        return writer.bytes
    }

    /// A fresh workload continuing from `bytes`.
    public static func restore(_ bytes: [UInt8]) throws -> any Workload {
        var reader = ByteReader(bytes)
        guard try reader.readUInt32() == magic else {
            throw ByteDecodingError(offset: 0, reason: "not a FleetTwin workload checkpoint (magic FTWK missing)")
        }
        let version = try reader.readInt()
        guard version == formatVersion else {
            throw ByteDecodingError(offset: 4, reason: "checkpoint format \(version); this build reads format \(formatVersion)")
        }
        let spec = try WorkloadSpec(from: &reader)
        guard let type = WorkloadRegistry.type(of: spec.kind) else {
            throw ByteDecodingError(offset: reader.offset, reason: "unknown workload kind '\(spec.kind)'")
        }
        let workload = try type.init(spec: spec, restoring: &reader)
        try reader.expectEnd()
        return workload
    }
}

/// Every workload kind FleetTwin can run, looked up by name.
public enum WorkloadRegistry {
    /// The registered kinds, in a fixed order (see WorkloadRegistry+Kinds.swift).
    public static var all: [any Workload.Type] { registered }

    public static func type(of kind: String) -> (any Workload.Type)? {
        registered.first { $0.kind == kind }
    }

    public static var kindNames: [String] { registered.map { $0.kind } }

    /// Builds a workload, checking the kind and its options first.
    public static func make(_ spec: WorkloadSpec) throws -> any Workload {
        guard let type = type(of: spec.kind) else {
            throw WorkloadError("unknown workload kind '\(spec.kind)'; expected one of: \(kindNames.joined(separator: ", "))")
        }
        guard spec.worldSize >= 1 else { throw WorkloadError("worldSize must be at least 1, got \(spec.worldSize)") }
        let known = Set(type.optionHelp.map(\.key))
        if let unknown = spec.options.keys.sorted().first(where: { !known.contains($0) }) {
            throw WorkloadError("unknown \(spec.kind) option '\(unknown)'; expected one of: \(type.optionHelp.map(\.key).joined(separator: ", "))")
        }
        return try type.init(spec: spec)
    }
}
