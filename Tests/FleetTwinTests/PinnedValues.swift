/// Values that must never change silently: they pin generator derivation and hashing.
enum PinnedValues {
    static let firstArrivalDraw = "3a549a6ec7d17351"
    static let hashOfFleettwin = "0459e65958a794c4"
}
