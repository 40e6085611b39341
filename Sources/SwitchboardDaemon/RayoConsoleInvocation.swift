import RayoServer

/// A `switchboard rayo …` command line turned into a console request and the socket to send it to; aliases from
/// `rayo.aliases` are expanded here, on the client side.
public struct RayoConsoleInvocation: Sendable, Hashable {
    /// Why the words do not make a request.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, with the usage.
        public var description: String
    }

    /// The request to send.
    public var request: ConsoleRequest
    /// The control socket's path (`rayo.control.socket`).
    public var socketPath: String

    static let usage =
        "usage: switchboard rayo [--config PATH] status | cmd <jid> <xml> | msg <jid> <text> | "
        + "presence <jid> online|offline | <alias> <jid>"

    /// Reads the words after `switchboard rayo` against a configuration.
    public init(words: [String], configuration: SwitchboardConfiguration) throws(Failure) {
        guard let rayo = configuration.rayo else {
            throw Failure(description: "the configuration has no \"rayo\" object, so the daemon runs no Rayo server")
        }
        guard let control = rayo.control else {
            throw Failure(description: "rayo.control.socket is not set in the configuration: the daemon has no console")
        }
        socketPath = control.path
        guard let verb = words.first else { throw Failure(description: Self.usage) }
        let rest = Array(words.dropFirst())
        switch verb {
        case "status":
            guard rest.isEmpty else { throw Failure(description: "status takes no arguments") }
            request = .status
        case "cmd":
            guard rest.count >= 2 else { throw Failure(description: "usage: switchboard rayo cmd <jid> <xml>") }
            request = .command(to: rest[0], xml: rest.dropFirst().joined(separator: " "))
        case "msg":
            guard rest.count >= 2 else { throw Failure(description: "usage: switchboard rayo msg <jid> <text>") }
            request = .message(to: rest[0], text: rest.dropFirst().joined(separator: " "))
        case "presence":
            guard rest.count == 2, rest[1] == "online" || rest[1] == "offline" else {
                throw Failure(description: "usage: switchboard rayo presence <jid> online|offline")
            }
            request = .presence(of: rest[0], online: rest[1] == "online")
        default:
            guard let alias = rayo.aliases.first(where: { $0.name == verb }) else {
                let names = rayo.aliases.map(\.name)
                throw Failure(
                    description: "unknown command \"\(verb)\""
                        + (names.isEmpty ? "" : "; aliases: \(names.joined(separator: ", "))") + "\n" + Self.usage
                )
            }
            let jid: String
            switch (alias.target, rest.count) {
            case (.server, 0):
                jid = rayo.domain
            case (_, 1):
                jid = Self.expand(rest[0], target: alias.target, domain: rayo.domain)
            default:
                throw Failure(description: "usage: switchboard rayo \(verb) <\(alias.target.rawValue) jid>")
            }
            request = .command(to: jid, xml: alias.xml)
        }
    }

    /// A call uuid or mixer name without `@` gets the domain.
    static func expand(_ jid: String, target: RayoServerConfiguration.AliasTarget, domain: String) -> String {
        switch target {
        case .call, .mixer: jid.contains("@") ? jid : "\(jid)@\(domain)"
        case .component, .server: jid
        }
    }
}
