/// Service-level tiers, highest first. Lower tiers are shrunk or preempted first.
public enum SLATier: String, Sendable, CaseIterable, Comparable {
    case premium, standard, basic

    public var rank: Int {
        switch self {
        case .premium: 0
        case .standard: 1
        case .basic: 2
        }
    }

    public static func < (a: SLATier, b: SLATier) -> Bool { a.rank < b.rank }
}
