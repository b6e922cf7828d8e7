// The kinds a scenario can name, in the order help and errors list them.
extension WorkloadRegistry {
    nonisolated(unsafe) static let registered: [any Workload.Type] = [
        ECIWorkload.self,
        RerankerWorkload.self,
        RAGWorkload.self,
        VLMMemeWorkload.self,
    ]
}
