/// One request of the admin console's line protocol, spoken over the control socket (`rayo.control.socket`).
///
/// The protocol, one request per line (UTF-8, at most ``maximumLineBytes`` bytes, `\n`-terminated):
/// ```
/// status
/// cmd <jid> <xml>                 an IQ set from the console JID; the reply stanza is printed
/// msg <jid> <text>                a chat message from the server's domain to a client
/// presence <jid> online|offline   marks a client available (show chat) or unavailable for offers
/// ```
/// The answer is zero or more data lines, each starting with `| `, then exactly one final line: `+OK` or
/// `-ERR <reason>`. A connection may carry several requests, one after the other.
public enum ConsoleRequest: Sendable, Hashable {
    /// `status`: clients, calls, mixers and components.
    case status
    /// `cmd <jid> <xml>`: send `xml` inside an IQ set to `jid` as the console.
    case command(to: String, xml: String)
    /// `msg <jid> <text>`: send a chat message to a client.
    case message(to: String, text: String)
    /// `presence <jid> online|offline`.
    case presence(of: String, online: Bool)

    /// The longest request line accepted: 64 KiB.
    public static let maximumLineBytes = 65_536

    /// Why a request line could not be read.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, for the `-ERR` line.
        public var description: String
    }

    /// Reads one request line (without its line feed).
    public static func parse(_ line: Substring) throws(ParseError) -> ConsoleRequest {
        let trimmed = line.trimmingSuffix { $0 == "\r" }
        let parts = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard let verb = parts.first else { throw ParseError(description: "empty request") }
        switch verb {
        case "status" where parts.count == 1:
            return .status
        case "cmd" where parts.count == 3:
            return .command(to: String(parts[1]), xml: String(parts[2]))
        case "msg" where parts.count == 3:
            return .message(to: String(parts[1]), text: String(parts[2]))
        case "presence" where parts.count == 3 && (parts[2] == "online" || parts[2] == "offline"):
            return .presence(of: String(parts[1]), online: parts[2] == "online")
        default:
            throw ParseError(
                description:
                    "unknown request; use: status | cmd <jid> <xml> | msg <jid> <text> | presence <jid> online|offline"
            )
        }
    }

    /// The request as one line, without its line feed. Line breaks inside the XML or text become spaces.
    public var line: String {
        func flat(_ text: String) -> String {
            String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
        }
        switch self {
        case .status: return "status"
        case .command(let to, let xml): return "cmd \(to) \(flat(xml))"
        case .message(let to, let text): return "msg \(to) \(flat(text))"
        case .presence(let jid, let online): return "presence \(jid) \(online ? "online" : "offline")"
        }
    }
}

/// The answer to a ``ConsoleRequest``: data lines and success or a reason for failure.
public struct ConsoleResponse: Sendable, Hashable {
    /// The data lines, without their `| ` prefix.
    public var lines: [String]
    /// `nil` for `+OK`; the reason for `-ERR`.
    public var failure: String?

    /// Creates a response.
    public init(lines: [String] = [], failure: String? = nil) {
        self.lines = lines
        self.failure = failure
    }

    /// The response as the protocol's lines, each ending with a line feed.
    public var wireText: String {
        var text = ""
        for line in lines {
            for part in line.split(separator: "\n", omittingEmptySubsequences: false) {
                text += "| \(part)\n"
            }
        }
        if let failure {
            text += "-ERR \(failure.split(separator: "\n").joined(separator: " "))\n"
        } else {
            text += "+OK\n"
        }
        return text
    }

    /// Reads one line of a response into `self`; returns `true` when it was the final line.
    public mutating func read(line: Substring) -> Bool {
        if line.hasPrefix("| ") {
            lines.append(String(line.dropFirst(2)))
            return false
        }
        if line == "|" {
            lines.append("")
            return false
        }
        if line.hasPrefix("-ERR") {
            failure = String(line.dropFirst(4).drop { $0 == " " })
            return true
        }
        if line.hasPrefix("+OK") { return true }
        failure = "unexpected line from the daemon: \(line)"
        return true
    }
}

extension Substring {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var result = self
        while let last = result.last, predicate(last) { result = result.dropLast() }
        return result
    }
}

/// What answers the admin console's requests: the Rayo service (through ``RayoConsole``), or a stand-in in tests.
public protocol ConsoleResponder: Sendable {
    /// Carries out one request and says how it went.
    func respond(to request: ConsoleRequest) async -> ConsoleResponse
}
