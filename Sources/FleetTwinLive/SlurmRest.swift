import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The live cluster through slurmrestd (Slurm 22.05: openapi `v0.0.38` and `dbv0.0.38`, JWT
/// over TCP; ../shared/slurm/README.md "REST (JWT)"; https://slurm.schedmd.com/rest.html):
/// per poll `GET /slurm/v0.0.38/jobs` (the replies of `squeue --json`, the same keys),
/// `GET /slurm/v0.0.38/nodes` (those of `sinfo --json`) and `GET /slurmdb/v0.0.38/jobs?
/// start_time=now-N` (those of `sacct --json`, for the runs since the last observation with
/// `LiveSlurm`'s margin), each with the headers `X-SLURM-USER-NAME` and `X-SLURM-USER-TOKEN`
/// (a token from `scontrol token`). The jobs or nodes request failing (no answer, not HTTP
/// 200, over `timeout`) is a `.failed` poll; the accounting request failing (404 without
/// slurmdbd) is said in the replies and the poll is taken without it.
public struct RestSlurm: PollSource {
    /// slurmrestd's address, such as `http://127.0.0.1:6820` (no trailing path).
    public var base: String
    /// The user the token was made for (`X-SLURM-USER-NAME`).
    public var user: String
    /// The JWT (`X-SLURM-USER-TOKEN`); `scontrol token` prints it as `SLURM_JWT=...`.
    public var token: String
    /// Seconds a request may take before the poll fails.
    public var timeout: TimeInterval
    /// Whether the accounting endpoint is asked.
    public var sacct: Bool
    /// Seconds of the accounting window before the last observation (as `LiveSlurm`'s).
    public var sacctMargin: Int64 = 30
    /// When a poll is observed, Unix µs (the twin's edge reads the wall clock).
    public var clock: @Sendable () -> Int64

    public init(base: String, user: String, token: String, clock: @escaping @Sendable () -> Int64, timeout: TimeInterval = 60,
                sacct: Bool = true) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.user = user
        self.token = token
        self.clock = clock
        self.timeout = timeout
        self.sacct = sacct
    }

    /// The three request paths (jobs, nodes, accounting since `since` at `now`, Unix µs).
    public func paths(since: Int64?, now: Int64) -> (jobs: String, nodes: String, accounting: String) {
        let back = since.map { max(0, now - $0 + 999_999) / 1_000_000 } ?? 0
        return ("/slurm/v0.0.38/jobs", "/slurm/v0.0.38/nodes", "/slurmdb/v0.0.38/jobs?start_time=now-\(back + sacctMargin)")
    }

    /// Asks for the jobs, then the nodes, then the accounting since `since`; never nil.
    public mutating func next(since: Int64?) -> Poll? {
        let path = paths(since: since, now: clock())
        let jobs = get(path.jobs)
        let time = clock()
        guard case .success(let squeue) = jobs else { return .failed(time: time, message: jobs.message) }
        let nodes = get(path.nodes)
        guard case .success(let sinfo) = nodes else { return .failed(time: time, message: nodes.message) }
        var replies = PollReplies(squeue: squeue, sinfo: sinfo, time: time, squeueSource: "GET \(base)\(path.jobs)",
                                  sinfoSource: "GET \(base)\(path.nodes)", sacctSource: "GET \(base)\(path.accounting)")
        guard sacct else { return .replies(replies) }
        switch get(path.accounting, accepting: [200], orJSONErrorsOn: [404, 500]) {
        case .success(let data): replies.sacct = data
        case .failure(let message): replies.sacctFailure = message
        }
        return .replies(replies)
    }

    /// What a request gave: the body, or why there is none.
    enum Answer {
        case success(Data)
        case failure(String)

        var message: String { if case .failure(let m) = self { return m } else { return "" } }
    }

    /// Answers slurmdbd's plugin gives with a JSON body saying why (its `errors`, such as
    /// "Nothing found"), passed on to the parser rather than failed here.
    func get(_ path: String, accepting ok: Set<Int> = [200], orJSONErrorsOn jsonStatuses: Set<Int> = []) -> Answer {
        let description = "GET \(base)\(path)"
        guard let url = URL(string: base + path) else { return .failure("\(description): not a URL") }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.setValue(user, forHTTPHeaderField: "X-SLURM-USER-NAME")
        request.setValue(token, forHTTPHeaderField: "X-SLURM-USER-TOKEN")
        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(data: data, status: (response as? HTTPURLResponse)?.statusCode, error: error.map { "\($0.localizedDescription)" })
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout + 5) == .timedOut {
            task.cancel()
            return .failure("\(description) ran over \(Int(timeout)) s")
        }
        let (data, status, error) = box.get()
        if let error { return .failure("\(description) failed: \(error)") }
        guard let status, let data else { return .failure("\(description): no answer") }
        if ok.contains(status) || (jsonStatuses.contains(status) && data.first == UInt8(ascii: "{")) { return .success(data) }
        // A JSON body says why in Slurm's `errors`; any other body is quoted (slurmrestd answers
        // a missing token with plain "Authentication failure").
        var why = String(decoding: data.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        do { _ = try SlurmReplies.topLevelList(data, key: "jobs", source: description, command: "slurmrestd") } catch { why = error.message }
        return .failure("\(description) answered HTTP \(status)" + (why.isEmpty ? "" : ": \(why)"))
    }
}

/// The completion handler's result, handed across threads under a lock.
final class ResponseBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    private var status: Int?
    private var error: String?

    func set(data: Data?, status: Int?, error: String?) {
        lock.lock()
        defer { lock.unlock() }
        (self.data, self.status, self.error) = (data, status, error)
    }

    func get() -> (Data?, Int?, String?) {
        lock.lock()
        defer { lock.unlock() }
        return (data, status, error)
    }
}
