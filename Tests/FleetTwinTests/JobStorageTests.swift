import FleetTwinEngine
import FleetTwinFleet
import FleetTwinPolicy
import FleetTwinScheduling
import Testing

/// `JobSpec` and `PendingJob` keep their rarely set fields behind one shared, immutable
/// reference (`rare`): copies must still behave as values, and equality must compare the
/// fields, not the reference.
@Suite struct JobStorageTests {
    static func job() -> JobSpec {
        JobSpec(name: "a", submit: .seconds(Int64(5)), tier: .standard, worldSize: 4, acceleratorType: "h100-80gb", work: .seconds(Int64(600)))
    }

    @Test func aJobsRareFieldsAreValues() {
        var a = Self.job()
        #expect(a.deadline == nil && a.tenant == nil && a.parallelism == nil)
        var b = a
        b.deadline = .seconds(Int64(900))
        b.tenant = "vc1"
        #expect(a.deadline == nil && a.tenant == nil, "a copy's change leaked into the original")
        #expect(b.deadline == .seconds(Int64(900)) && b.tenant == "vc1")
        #expect(a != b)
        a.tenant = "vc1"
        a.deadline = .seconds(Int64(900))
        #expect(a == b, "equal fields set separately are equal jobs")
        // Clearing every rare field again equals a job that never had one.
        a.tenant = nil
        a.deadline = nil
        #expect(a == Self.job())
        var c = b
        c.qos = "high"
        #expect(b.qos == nil && c.qos == "high" && c.tenant == "vc1" && c.deadline == .seconds(Int64(900)))
    }

    @Test func aPendingJobsRareFieldsAreValues() {
        var a = PendingJob(index: 0, submit: .zero, tier: .standard, worldSize: 2, acceleratorTypes: TypeSet([0]), work: 10)
        #expect(a.timeLimit == 0 && a.partition == -1 && a.qos == -1 && a.name == "" && a.speedup.isEmpty)
        var b = a
        b.timeLimit = 60_000_000
        b.name = "j"
        b.speedup = [1, 1.8]
        #expect(a.timeLimit == 0 && a.name == "" && a.speedup.isEmpty)
        #expect(b.timeLimit == 60_000_000 && b.name == "j" && b.speedup == [1, 1.8])
        #expect(a != b)
        a.name = "j"
        a.speedup = [1, 1.8]
        a.timeLimit = 60_000_000
        #expect(a == b)
        // Setting a field back to its default clears it.
        b.timeLimit = 0
        b.name = ""
        b.speedup = []
        #expect(b == PendingJob(index: 0, submit: .zero, tier: .standard, worldSize: 2, acceleratorTypes: TypeSet([0]), work: 10))
    }
}
