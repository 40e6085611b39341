/// The command line of `switchboard-bench load`.
struct LoadOptions: Sendable {
    /// FreeSWITCH's event socket host; FreeSWITCH must reach the daemon's outbound listener on 127.0.0.1.
    var host = "127.0.0.1"
    /// FreeSWITCH's event socket port.
    var port = 8021
    /// FreeSWITCH's event socket password.
    var password = "ClueCon"
    /// Start a private FreeSWITCH from the installed binary instead of using `host:port`.
    var privateSwitch = false
    /// FreeSWITCH's process id, for its CPU time (known by itself with `--private`).
    var freeswitchPID: Int32?
    /// Calls to place, after the warm-up.
    var calls = 3000
    /// Calls in progress at once.
    var concurrency = 100
    /// Calls placed before the measured run, at the same concurrency, so that first-use costs (code pages, pools) are
    /// not counted and the baseline of resident memory is the daemon's level under this load: glibc's allocator keeps
    /// up to ~4 MiB of freed heap after the first bursts of 100 calls (docs/RELIABILITY.md), which 200 warm-up calls
    /// did not always reach.
    var warmUpCalls = 1000
    /// The DTMF the caller sends when demo-ivr prompts.
    var digits = "42#"
    /// The daemon executable; `nil` means `switchboard` next to this program.
    var daemon: String?
    /// How long one call may take from originate to its last hangup.
    var callTimeoutSeconds = 60

    static let usage = """
        usage: switchboard-bench load [--private | --host H --port P --password W [--freeswitch-pid PID]]
                                      [--calls N] [--concurrency N] [--warm-up N] [--digits D]
                                      [--daemon PATH] [--call-timeout SECONDS]

          Runs the switchboard daemon (the real binary, as a child process) with an outbound listener running
          demo-ivr, and places calls through FreeSWITCH into it: originate loopback/outbound_<port>/peertest,
          DTMF (--digits) to leg A when demo-ivr prompts, check switchboard_result on the socket leg's hangup.
          --concurrency calls at once, --calls in all after --warm-up calls. FreeSWITCH needs the dialplan
          context peertest of Tests/Fixtures/freeswitch/peertest.xml (a --private switch has it) and must run on
          this host.

          --private  start a FreeSWITCH of its own from /usr/local/freeswitch/bin/freeswitch (own port and
                     directory, sessions-per-second and max-sessions raised), so a shared one is not loaded
        """

    /// Parses `arguments` (after `load`); throws a message for anything it does not understand.
    static func parse(_ arguments: [String]) throws(BenchUsageError) -> LoadOptions {
        var options = LoadOptions()
        var index = 0
        func value() throws(BenchUsageError) -> String {
            index += 1
            guard index < arguments.count else { throw BenchUsageError("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        func number() throws(BenchUsageError) -> Int {
            let text = try value()
            guard let number = Int(text.filter { $0 != "_" && $0 != "," }), number >= 0 else {
                throw BenchUsageError("\(arguments[index - 1]) needs a number, not '\(text)'")
            }
            return number
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--host": options.host = try value()
            case "--port": options.port = try number()
            case "--password": options.password = try value()
            case "--private": options.privateSwitch = true
            case "--freeswitch-pid": options.freeswitchPID = Int32(try number())
            case "--calls": options.calls = try number()
            case "--concurrency": options.concurrency = max(1, try number())
            case "--warm-up": options.warmUpCalls = try number()
            case "--digits": options.digits = try value()
            case "--daemon": options.daemon = try value()
            case "--call-timeout": options.callTimeoutSeconds = max(1, try number())
            case "--help", "-h": throw BenchUsageError(nil)
            default: throw BenchUsageError("unknown argument '\(arguments[index])'")
            }
            index += 1
        }
        guard options.digits.allSatisfy({ "0123456789*#ABCD".contains($0) }), !options.digits.isEmpty else {
            throw BenchUsageError("--digits takes DTMF digits (0-9, *, #, A-D)")
        }
        return options
    }
}
