/// An invalid scenario: where (file, line, column) and what was expected there.
public struct ScenarioError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    /// The offending source line with a caret under the column, when known.
    public var excerpt: String?

    public init(file: String, line: Int, column: Int, message: String, excerpt: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.excerpt = excerpt
    }

    /// `file:line:column: error: message`, the form editors and compilers use.
    public var description: String {
        let head = "\(file):\(line):\(column): error: \(message)"
        guard let excerpt, !excerpt.isEmpty else { return head }
        return head + "\n" + excerpt
    }
}
