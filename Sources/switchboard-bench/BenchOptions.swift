/// The command line of `switchboard-bench`: simple `--flag value` pairs, every one optional.
struct BenchOptions: Sendable {
    /// The benchmarks to run, by letter: a (inbound events), b (outbound sessions), c (api round trip),
    /// d (memory per idle session), e (XMPP stanzas parsed), f (the Rayo server: offers, answer round trip, memory).
    var only: Set<Character> = ["a", "b", "c", "d", "e", "f"]
    /// Every benchmark letter.
    static let letters: Set<Character> = ["a", "b", "c", "d", "e", "f"]
    /// Events the blaster sends in (a).
    var events = 1_000_000
    /// Outbound sessions in (b).
    var sessions = 20_000
    /// Concurrent simulated switch connections in (b).
    var concurrency = 100
    /// Which simulated switch drives (b): `sim` (`switch-sim`, a C program in a process of its own) or `fake`
    /// (`FakeFreeSWITCH.placeCall` in this process).
    var driver = "sim"
    /// Sequential `api status` calls in (c).
    var apiCalls = 20_000
    /// Idle outbound sessions held in (d).
    var idleSessions = 1000
    /// Stanzas parsed in (e).
    var stanzas = 1_000_000
    /// Connected clients every call is offered to in (f) i.
    var rayoClients = 10
    /// Calls offered in (f) i.
    var rayoCalls = 3000
    /// Sequential `<answer/>` round trips in (f) ii.
    var rayoAnswers = 2000
    /// Clients connected for the memory figure of (f) iii.
    var rayoMemoryClients = 500
    /// Calls controlled for the memory figure of (f) iii.
    var rayoMemoryCalls = 1000
    /// Whether (b) and (c) also measure their ceilings and floors (bare listeners and clients); `--no-ceilings`
    /// skips them, for profiling the library alone.
    var ceilings = true
    /// Only this listener of (b) (`default`, `events`, `pool`, `before`, `bare`, `c`), for profiling one.
    var outboundListener: String?
    /// The fixtures folder; `nil` uses the package's own (`Tests/Fixtures`).
    var fixtures: String?
    /// The longest any one benchmark may run before it is abandoned and reported as failed.
    var timeoutSeconds = 120
    /// Internal: run as the switch side of (d) in a child process, holding calls to this port.
    var holdCallsPort: Int?
    /// Internal: run as the switch and client side of (f) iii in a child process.
    var rayoSwitchSide = false

    static let usage = """
        usage: switchboard-bench [--only a|b|c|d|e|f[,…]] [--events N] [--sessions N] [--concurrency N]
                                 [--driver sim|fake] [--api-calls N] [--idle-sessions N] [--stanzas N]
                                 [--rayo-clients N] [--rayo-calls N] [--rayo-answers N]
                                 [--rayo-memory-clients N] [--rayo-memory-calls N]
                                 [--no-ceilings] [--listener default|events|pool|before|bare|c]
                                 [--fixtures PATH] [--timeout SECONDS]

          a  inbound: events/s decoded and delivered to a no-op handler, against the raw socket read rate
          b  outbound: sessions/s (connect, myevents, linger, answer, hangup, exit) at --concurrency connections,
             then the same calls against a bare NIO listener (the ceiling)
          c  api round trip: p50/p99/max of sequential `api status` on a logged-in connection, then from a
             bare NIO client (the ceiling)
          d  resident memory per idle outbound session (switch side in a child process)
          e  XMPP: Rayo stanzas parsed per second by the stream parser (libexpat), one thread, no socket
          f  Rayo server against FakeFreeSWITCH, XMPP clients on loopback:
             i   calls offered per second, each to --rayo-clients clients (offerAlgorithm all), counted where the
                 clients receive them; the caller hangs up once every client has the offer (--rayo-calls calls)
             ii  <answer/> IQ round trip p50/p99/max on offered calls, one at a time (--rayo-answers)
             iii resident memory per connected client and per controlled (answered) call, clients and switch in a
                 child process (--rayo-memory-clients, --rayo-memory-calls)
        """

    /// Parses `arguments` (without the program name); throws a message for anything it does not understand.
    static func parse(_ arguments: [String]) throws(BenchUsageError) -> BenchOptions {
        var options = BenchOptions()
        var index = 0
        func value() throws(BenchUsageError) -> String {
            index += 1
            guard index < arguments.count else { throw BenchUsageError("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        func number() throws(BenchUsageError) -> Int {
            let text = try value()
            guard let number = Int(text.filter { $0 != "_" && $0 != "," }), number > 0 else {
                throw BenchUsageError("\(arguments[index - 1]) needs a positive number, not '\(text)'")
            }
            return number
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--only":
                let letters = Set(try value().filter { $0 != "," && $0 != " " })
                guard !letters.isEmpty, letters.isSubset(of: BenchOptions.letters) else {
                    throw BenchUsageError("--only takes letters among a, b, c, d, e, f")
                }
                options.only = letters
            case "--events": options.events = try number()
            case "--sessions": options.sessions = try number()
            case "--concurrency": options.concurrency = try number()
            case "--driver":
                options.driver = try value()
                guard options.driver == "sim" || options.driver == "fake" else {
                    throw BenchUsageError("--driver is 'sim' or 'fake'")
                }
            case "--api-calls": options.apiCalls = try number()
            case "--idle-sessions": options.idleSessions = try number()
            case "--stanzas": options.stanzas = try number()
            case "--rayo-clients": options.rayoClients = try number()
            case "--rayo-calls": options.rayoCalls = try number()
            case "--rayo-answers": options.rayoAnswers = try number()
            case "--rayo-memory-clients": options.rayoMemoryClients = try number()
            case "--rayo-memory-calls": options.rayoMemoryCalls = try number()
            case "--rayo-switch-side": options.rayoSwitchSide = true
            case "--no-ceilings": options.ceilings = false
            case "--listener": options.outboundListener = try value()
            case "--fixtures": options.fixtures = try value()
            case "--timeout": options.timeoutSeconds = try number()
            case "--hold-calls": options.holdCallsPort = try number()
            case "--help", "-h": throw BenchUsageError(nil)
            default: throw BenchUsageError("unknown argument '\(arguments[index])'")
            }
            index += 1
        }
        return options
    }
}

/// A command line the bench does not understand; `nil` asks for the usage only.
struct BenchUsageError: Error {
    var message: String?
    init(_ message: String?) { self.message = message }
}
