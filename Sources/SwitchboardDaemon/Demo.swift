import Logging
import NIOConcurrencyHelpers
import NIOCore
import Switchboard
import SwitchboardTesting

/// `switchboard demo`: the whole daemon on a configuration, against a simulated FreeSWITCH in the same process.
///
/// Real sockets on loopback and the real code paths; only the switch is simulated. It places a few calls with DTMF
/// through the outbound listener and feeds the inbound listeners events of those calls, so a newcomer sees it work
/// with no FreeSWITCH installed.
public enum Demo {
    /// Digits the simulated callers press, one call each; `nil` is a caller who presses nothing.
    public static let callerDigits: [String?] = ["42#", "1234#", nil]

    /// Runs the demo; `say` receives the narration lines. Returns the `switchboard_result` of each call.
    @discardableResult
    public static func run(
        configuration: SwitchboardConfiguration,
        registry: HandlerRegistry,
        logger: Logger,
        say: @escaping @Sendable (String) -> Void
    ) async throws -> [String?] {
        let password = configuration.inboundListeners.first?.password ?? "ClueCon"
        let fake = try await FakeFreeSWITCH.start(options: .init(password: password))
        say("simulated FreeSWITCH listening on 127.0.0.1:\(fake.port) (event socket, password '\(password)')")

        // The same listeners, pointed at the simulated switch; outbound listeners take free ports.
        var demoConfiguration = configuration
        demoConfiguration.listeners = configuration.listeners.map { listener in
            switch listener {
            case .inbound(var settings):
                settings.host = "127.0.0.1"
                settings.port = fake.port
                return .inbound(settings)
            case .outbound(var settings):
                settings.bind = "127.0.0.1"
                settings.port = 0
                return .outbound(settings)
            }
        }
        let daemon = Daemon(
            configuration: demoConfiguration,
            registry: registry,
            logFile: LogFile.standardError(),
            logger: logger
        )
        let bound = NIOLockedValueBox<[String: Int]>([:])
        let results = try await withThrowingTaskGroup(of: [String?].self) { group in
            group.addTask {
                try await daemon.run { name, address in
                    bound.withLockedValue { $0[name] = address.port ?? 0 }
                }
                return []
            }
            defer { group.cancelAll() }
            let outboundNames = demoConfiguration.outboundListeners.map(\.name)
            let deadline = ContinuousClock.now + .seconds(10)
            while bound.withLockedValue({ $0.count }) < outboundNames.count {
                guard ContinuousClock.now < deadline else { throw FakeSwitchError("outbound listeners did not bind") }
                try await Task.sleep(for: .milliseconds(10))
            }
            try await fake.waitForSubscribers(demoConfiguration.inboundListeners.count)
            say(
                "daemon up: \(outboundNames.count) outbound, \(demoConfiguration.inboundListeners.count) inbound listeners"
            )

            var results: [String?] = []
            for name in outboundNames {
                let port = bound.withLockedValue { $0[name] ?? 0 }
                for digits in callerDigits {
                    say("placing a call to '\(name)' on port \(port); the caller will press \(digits ?? "nothing")")
                    let record = try await fake.placeCall(to: port, script: CallScript(digits: digits))
                    // Feed the inbound listeners what a real switch would publish about this call.
                    for eventName in ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"] {
                        fake.emit(
                            .channel(
                                eventName,
                                uuid: record.uuid,
                                variables: record.variables,
                                extra: [("Caller-Context", "default")]
                            )
                        )
                    }
                    let applications = record.applications.map(\.name).joined(separator: " → ")
                    say(
                        "call \(record.uuid): \(applications); switchboard_result=\(record.variables["switchboard_result"] ?? "unset")"
                    )
                    results.append(record.variables["switchboard_result"])
                }
            }
            // Give the inbound handlers a moment to log the last events.
            try await Task.sleep(for: .milliseconds(200))
            return results
        }
        await fake.stop()
        say("demo finished")
        return results
    }
}
