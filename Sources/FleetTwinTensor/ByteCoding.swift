/// A stable byte encoding for checkpoints: little-endian fixed-width integers, IEEE 754 bit
/// patterns for floats, length-prefixed strings and arrays. The same state always gives the
/// same bytes, on every machine, so a checkpoint's hash identifies the state.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ value: UInt64) {
        var v = value
        for _ in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v)); v >>= 8 }
    }

    public mutating func write(_ value: UInt32) {
        var v = value
        for _ in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v)); v >>= 8 }
    }

    public mutating func write(_ value: Int) { write(UInt64(bitPattern: Int64(value))) }
    public mutating func write(_ value: Float) { write(value.bitPattern) }
    public mutating func write(_ value: Double) { write(value.bitPattern) }
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ value: String) {
        write(value.utf8.count)
        bytes.append(contentsOf: value.utf8)
    }

    public mutating func write(_ values: [Float]) {
        write(values.count)
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { write(v.bitPattern) }
    }

    public mutating func write(_ values: [Int]) {
        write(values.count)
        for v in values { write(v) }
    }

    public mutating func write(_ values: [UInt64]) {
        write(values.count)
        for v in values { write(v) }
    }

    public mutating func write(_ tensor: Tensor) {
        write(tensor.shape)
        write(tensor.scalars)
    }

    public mutating func write(_ tensors: [Tensor]) {
        write(tensors.count)
        for t in tensors { write(t) }
    }
}

/// Why a checkpoint could not be read back.
public struct ByteDecodingError: Error, CustomStringConvertible, Equatable {
    public let offset: Int
    public let reason: String
    public var description: String { "checkpoint byte \(offset): \(reason)" }
    public init(offset: Int, reason: String) { self.offset = offset; self.reason = reason }
}

/// Reads what `ByteWriter` wrote, checking lengths and bounds as it goes.
public struct ByteReader {
    let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset == bytes.count }

    func fail(_ reason: String) -> ByteDecodingError { ByteDecodingError(offset: offset, reason: reason) }

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else {
            throw fail("needs \(count) more bytes, \(bytes.count - offset) left (truncated?)")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    public mutating func readUInt64() throws -> UInt64 {
        var v: UInt64 = 0
        for (shift, byte) in try take(8).enumerated() { v |= UInt64(byte) << (8 * UInt64(shift)) }
        return v
    }

    public mutating func readUInt32() throws -> UInt32 {
        var v: UInt32 = 0
        for (shift, byte) in try take(4).enumerated() { v |= UInt32(byte) << (8 * UInt32(shift)) }
        return v
    }

    public mutating func readInt() throws -> Int { Int(Int64(bitPattern: try readUInt64())) }
    public mutating func readFloat() throws -> Float { Float(bitPattern: try readUInt32()) }
    public mutating func readDouble() throws -> Double { Double(bitPattern: try readUInt64()) }

    public mutating func readBool() throws -> Bool {
        let b = try take(1).first!
        guard b <= 1 else { throw fail("expected a boolean (0 or 1), found \(b)") }
        return b == 1
    }

    mutating func readCount(elementBytes: Int) throws -> Int {
        let count = try readInt()
        guard count >= 0, count <= (bytes.count - offset) / max(elementBytes, 1) else {
            throw fail("length \(count) does not fit in the \(bytes.count - offset) bytes left")
        }
        return count
    }

    public mutating func readString() throws -> String {
        let count = try readCount(elementBytes: 1)
        guard let s = String(validating: try take(count), as: UTF8.self) else { throw fail("string is not UTF-8") }
        return s
    }

    public mutating func readFloats() throws -> [Float] {
        let count = try readCount(elementBytes: 4)
        var out = [Float]()
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try readFloat()) }
        return out
    }

    public mutating func readInts() throws -> [Int] {
        let count = try readCount(elementBytes: 8)
        return try (0..<count).map { _ in try readInt() }
    }

    public mutating func readUInt64s() throws -> [UInt64] {
        let count = try readCount(elementBytes: 8)
        return try (0..<count).map { _ in try readUInt64() }
    }

    public mutating func readTensor() throws -> Tensor {
        let shape = try readInts()
        let scalars = try readFloats()
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) == scalars.count else {
            throw fail("tensor shape \(shape) does not match its \(scalars.count) scalars")
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    public mutating func readTensors() throws -> [Tensor] {
        let count = try readCount(elementBytes: 16)
        return try (0..<count).map { _ in try readTensor() }
    }

    /// Fails unless every byte was consumed: trailing bytes mean a format mismatch.
    public func expectEnd() throws {
        guard isAtEnd else { throw fail("\(bytes.count - offset) unexpected trailing bytes") }
    }
}
