import FleetTwinEngine
@testable import FleetTwinFleet
import Testing

@Suite struct ClusterCapacityTests {
    @Test func consolidatedSmallJobTakesTheTightestNode() throws {
        var c = ClusterCapacity(nodes: 3, acceleratorsPerNode: 8)
        let first = c.reserve(6, rule: .bestFit)  // node 0 -> 2 free
        #expect(first == [NodeShare(node: 0, count: 6)])
        let second = c.reserve(2, rule: .bestFit)  // best fit: node 0's last 2
        #expect(second == [NodeShare(node: 0, count: 2)])
        #expect(c.freeOnNode == [0, 8, 8])
    }

    @Test func consolidatedLargeJobTakesWholeNodesPlusARemainder() throws {
        var c = ClusterCapacity(nodes: 4, acceleratorsPerNode: 4)
        _ = c.reserve(1, rule: .bestFit)  // node 0: 3 free
        let reserved = c.reserve(10, rule: .bestFit)
        let big = try #require(reserved)
        // Two whole nodes, then the remainder 2 on the tightest node that fits (node 0, 3 free).
        #expect(big.map(\.count) == [4, 4, 2])
        #expect(big.last?.node == 0)
        #expect(c.totalFree == 16 - 11)
    }

    @Test func consolidatedRefusesWhatOnlyFragmentsCouldHold() {
        var c = ClusterCapacity(nodes: 2, acceleratorsPerNode: 4)
        _ = c.reserve(2, rule: .bestFit)
        _ = c.reserve(2, rule: .bestFit)  // best fit puts it on node 0 too
        _ = c.reserve(3, rule: .bestFit)  // node 1: 1 free
        #expect(c.totalFree == 1)
        var d = ClusterCapacity(nodes: 2, acceleratorsPerNode: 4)
        _ = d.reserve(3, rule: .bestFit)
        _ = d.reserve(3, rule: .bestFit)
        #expect(d.totalFree == 2)
        let refused = d.reserve(2, rule: .bestFit)  // 1 + 1 free on two nodes
        #expect(refused == nil)
        let fragments = d.reserve(2, rule: .any)
        #expect(fragments?.map(\.count) == [1, 1])
    }

    @Test func releaseRestoresCapacity() throws {
        var c = ClusterCapacity(nodes: 2, acceleratorsPerNode: 8)
        let shares = c.reserve(12, rule: .bestFit)
        c.release(try #require(shares))
        #expect(c.totalFree == 16)
        #expect(c.summary == CapacitySummary(acceleratorsPerNode: 8, totalFree: 16, fullyFreeNodes: 2, maxNodeFree: 8, maxPartialNodeFree: 0,
                                           nodesWithFree: [0, 0, 0, 0, 0, 0, 0, 0, 2]))
    }

    /// The summary's fit test must agree exactly with what reserve can do, or a FIFO head
    /// would either stall or be sent to a cluster that cannot take it.
    @Test(arguments: [PlacementRule.bestFit, .any])
    func summaryFitAgreesWithReserveUnderRandomChurn(rule: PlacementRule) {
        var g = SeededGenerator(seed: 11)
        var c = ClusterCapacity(nodes: 6, acceleratorsPerNode: 4)
        var held: [[NodeShare]] = []
        for _ in 0..<3_000 {
            let count = Int(g.next() % 14) + 1
            let fits = c.summary.fits(count, rule: rule)
            var probe = c
            let probed = probe.reserve(count, rule: rule)
            #expect((probed != nil) == fits)
            if g.next() % 3 != 0, let shares = c.reserve(count, rule: rule) {
                #expect(shares.reduce(0) { $0 + Int($1.count) } == count)
                held.append(shares)
            } else if !held.isEmpty {
                c.release(held.remove(at: Int(g.next() % UInt64(held.count))))
            }
            #expect(c.totalFree == c.freeOnNode.reduce(0, +))
        }
    }
}
