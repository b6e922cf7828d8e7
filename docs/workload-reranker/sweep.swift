// Runs the default reranker sweep (3 losses x 6 sizes, one seed) and prints the analysis.
// Usage: sweep [seed] [key=value ...]   (extra options apply to every job)
import FleetTwinWorkloads
import Foundation

var seed: UInt64 = 1
var extra: [String: String] = [:]
for arg in CommandLine.arguments.dropFirst() {
    if let eq = arg.firstIndex(of: "=") { extra[String(arg[..<eq])] = String(arg[arg.index(after: eq)...]) }
    else if let s = UInt64(arg) { seed = s }
}
var finished: [FinishedWorkload] = []
let start = DispatchTime.now().uptimeNanoseconds
for loss in RerankerWorkload.losses {
    for size in 0..<RerankerWorkload.sizeCount {
        var options = extra
        options["loss"] = loss; options["size"] = String(size)
        let spec = WorkloadSpec(kind: "reranker", seed: seed, worldSize: 1, options: options)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let job = try WorkloadRegistry.make(spec)
        var flops = 0
        while !job.isFinished { flops += job.step(devices: 1).flops }
        let r = job.result!
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        print(String(format: "%@ size%d N=%6.0f ndcg@10=%.4f map=%.4f mrr=%.4f ce=%.4f  %.2fs  flops/step measured %.3g estimated %.3g hash %@",
                     loss, size, r["parameters"]!, r["ndcg@10"]!, r["map"]!, r["mrr"]!, r["contrastive_entropy"]!, seconds,
                     Double(flops) / Double(job.totalSteps), Double(job.estimatedFlopsPerStep), r.hashHex))
        finished.append(FinishedWorkload(name: "\(loss)-size\(size)", spec: spec, result: r))
    }
}
let report = RerankerWorkload.analyse(finished)
print(report.title)
for line in report.lines { print(line) }
print(String(format: "total job time %.1fs", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
