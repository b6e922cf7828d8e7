/// An immutable value behind one shared reference, for a struct's rarely set fields: arrays of
/// millions of such structs (`JobSpec`, `PendingJob`) then carry one pointer for them, nil
/// while they all hold their defaults. A change makes a new reference (`updating`), so copies
/// of the struct never share a mutation; equality compares the values.
public final class SharedValue<Value: Sendable & Equatable>: Sendable, Equatable {
    public let value: Value

    public init(_ value: Value) { self.value = value }

    public static func == (a: SharedValue, b: SharedValue) -> Bool { a.value == b.value }

    /// `storage`'s value (`empty` where nil) after `change`; nil when that equals `empty`.
    public static func updating(_ storage: SharedValue?, empty: Value, _ change: (inout Value) -> Void) -> SharedValue? {
        var value = storage?.value ?? empty
        change(&value)
        return value == empty ? nil : SharedValue(value)
    }
}
