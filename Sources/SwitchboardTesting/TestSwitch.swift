import Switchboard

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real FreeSWITCH that integration tests run against, read from the environment once per process: a stock
/// switch on this host (`127.0.0.1:8021`, password `ClueCon`) unless these name another.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `SWITCHBOARD_TEST_FREESWITCH_HOST` | `127.0.0.1` | the event socket's host |
/// | `SWITCHBOARD_TEST_FREESWITCH_PORT` | `8021` | the event socket's port |
/// | `SWITCHBOARD_TEST_FREESWITCH_PASSWORD` | `ClueCon` | the event socket's password |
/// | `SWITCHBOARD_TEST_FREESWITCH_USER` | `esl@127.0.0.1:esl-secret` | a directory user for `userauth`; empty skips its tests |
/// | `SWITCHBOARD_TEST_CALLBACK_HOST` | `127.0.0.1` | the address FreeSWITCH dials to reach the tests' outbound listeners |
///
/// The switch needs the dialplan context `peertest` of `Tests/Fixtures/freeswitch/peertest.xml`. A suite runs only
/// when the switch answers, and otherwise skips with one line naming the address tried and these variables:
/// ```swift
/// @Suite(.enabled(if: TestSwitch.isAvailable, Comment(rawValue: TestSwitch.skipReason)))
/// ```
public struct TestSwitch: Sendable, Hashable {
    /// The variable naming the event socket's host.
    public static let hostVariable = "SWITCHBOARD_TEST_FREESWITCH_HOST"
    /// The variable naming the event socket's port.
    public static let portVariable = "SWITCHBOARD_TEST_FREESWITCH_PORT"
    /// The variable naming the event socket's password.
    public static let passwordVariable = "SWITCHBOARD_TEST_FREESWITCH_PASSWORD"
    /// The variable naming the `userauth` user as `user@domain:password`.
    public static let userVariable = "SWITCHBOARD_TEST_FREESWITCH_USER"
    /// The variable naming the address FreeSWITCH dials back to reach an outbound listener of the tests.
    public static let callbackHostVariable = "SWITCHBOARD_TEST_CALLBACK_HOST"

    /// The event socket's host.
    public var host: String
    /// The event socket's port.
    public var port: Int
    /// The event socket's password.
    public var password: String
    /// `userauth` with a directory user that has an `esl-password`, or `nil` to skip the tests that need one.
    public var userAuthentication: InboundConfiguration.Authentication?
    /// The address FreeSWITCH dials to reach the tests' outbound listeners (the `socket` application's host).
    public var callbackHost: String

    /// Reads the switch from `environment`; a missing or unreadable value keeps its default.
    public init(environment: [String: String]) {
        host = environment[Self.hostVariable].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port =
            environment[Self.portVariable].flatMap { Int($0) }.flatMap { (1...65535).contains($0) ? $0 : nil } ?? 8021
        password = environment[Self.passwordVariable] ?? "ClueCon"
        callbackHost = environment[Self.callbackHostVariable].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        userAuthentication = Self.parseUser(environment[Self.userVariable] ?? "esl@127.0.0.1:esl-secret")
    }

    /// The switch the process's environment names.
    public static let current = TestSwitch(environment: processEnvironment())

    /// Whether ``current`` answers on its event socket port; probed once per process (1 s at most).
    public static let isAvailable: Bool = current.answers()

    /// The skip line of a suite that needs ``current``: `no FreeSWITCH answers on 127.0.0.1:8021 (set
    /// SWITCHBOARD_TEST_FREESWITCH_HOST, …_PORT, …_PASSWORD to use another)`.
    public static var skipReason: String { current.skipReason }

    /// Whether a TCP connect to the event socket succeeds within one second.
    public func answers() -> Bool {
        FreeSWITCHProbe.answers(host: host, port: UInt16(port), timeout: .seconds(1))
    }

    /// `no FreeSWITCH answers on 127.0.0.1:8021 (set SWITCHBOARD_TEST_FREESWITCH_HOST, …)`.
    public var skipReason: String {
        "no FreeSWITCH answers on \(address) (set \(Self.hostVariable), \(Self.portVariable), "
            + "\(Self.passwordVariable) to use another)"
    }

    /// `127.0.0.1:8021` or `[::1]:8021`.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `auth` with ``password``.
    public var authentication: InboundConfiguration.Authentication { .password(password) }

    /// The address an outbound listener of the tests binds: `127.0.0.1` when FreeSWITCH calls back to this host's
    /// loopback, every address (`0.0.0.0`) when it calls back from elsewhere.
    public var listenHost: String { Self.isLoopback(callbackHost) ? "127.0.0.1" : "0.0.0.0" }

    /// A dial string that hands the call to an outbound listener of the tests on `port` through context `peertest`:
    /// `loopback/outbound_9084/peertest` (`socket 127.0.0.1:9084 async full`), or with a callback host other than
    /// 127.0.0.1, `loopback/outbound_9084_192.0.2.10/peertest` (`socket 192.0.2.10:9084 async full`).
    ///
    /// - Parameter asyncFull: `false` dials `outbound_sync_<port>`, a `socket` without `async full`.
    public func outboundDestination(port: Int, asyncFull: Bool = true) -> String {
        destination(outboundExtension(port: port, asyncFull: asyncFull))
    }

    /// The extension of ``outboundDestination(port:asyncFull:)``: `outbound_9084`, `outbound_sync_9084`,
    /// `outbound_9084_192.0.2.10`.
    public func outboundExtension(port: Int, asyncFull: Bool = true) -> String {
        let prefix = asyncFull ? "outbound" : "outbound_sync"
        let callback = Self.isLoopback(callbackHost) ? "" : "_\(callbackHost)"
        return "\(prefix)_\(port)\(callback)"
    }

    /// `loopback/<extension>/peertest`: `echo`, `park`, `tone` or `rayo` of the test dialplan.
    public func destination(_ extensionName: String) -> String { "loopback/\(extensionName)/peertest" }

    private static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost"
    }

    /// `user@domain:password`; empty means none.
    private static func parseUser(_ text: String) -> InboundConfiguration.Authentication? {
        guard let at = text.firstIndex(of: "@"), let colon = text[at...].firstIndex(of: ":") else { return nil }
        let name = String(text[..<at])
        let domain = String(text[text.index(after: at)..<colon])
        guard !name.isEmpty, !domain.isEmpty else { return nil }
        return .user(name, domain: domain, password: String(text[text.index(after: colon)...]))
    }

    private static func processEnvironment() -> [String: String] {
        var values: [String: String] = [:]
        for name in [hostVariable, portVariable, passwordVariable, userVariable, callbackHostVariable] {
            if let value = getenv(name) { values[name] = String(cString: value) }
        }
        return values
    }
}
