/// An encodable value printed with one more top-level key beside its own (`replay --json`
/// adds `fidelity` and `scheduleFidelity`, `predict --json` adds `dataParallel`); the key is left out when `extra`
/// is nil.
struct JSONWithKey<Base: Encodable, Extra: Encodable>: Encodable {
    var base: Base
    var key: String
    var extra: Extra?

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: Encoder) throws {
        try base.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(extra, forKey: Key(stringValue: key))
    }
}
