import EventSocket
import Handlers
import Logging
import Switchboard
import SwitchboardTesting
import Testing

/// What a library user writes: a plain handler whose state comes through its own initializer, no name or summary.
private struct Announcer: OutboundHandler {
    let announcement: String
    let callers: Collector<String>

    func run(_ session: OutboundSession) async throws {
        let identity = [
            session.callerIDNumber, session.destinationNumber, session.direction?.rawValue, session.context,
            session.channelName, session.answerState?.rawValue,
        ]
        callers.append(identity.map { $0 ?? "-" }.joined(separator: " "))
        try await session.answer()
        try await session.playback(announcement)
        try await session.hangup()
    }
}

@Suite("Handlers used from code")
struct HandlerInCodeTests {
    @Test("a handler with state given to its initializer runs with OutboundListener, its state shared by its calls")
    func handlerWithState() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let callers = Collector<String>()
        let handler = Announcer(announcement: "ivr/ivr-closed.wav", callers: callers)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (_, port) = try await startOutboundListener(handler, in: &group)
            let first = try await fake.placeCall(to: port, script: CallScript())
            let second = try await fake.placeCall(to: port, script: CallScript())
            for call in [first, second] {
                #expect(call.applications.map(\.name) == ["answer", "playback", "hangup"])
                #expect(call.applications[1].argument == "ivr/ivr-closed.wav")
            }
            group.cancelAll()
        }
        await fake.stop()
        // The simulated switch's channel data is a real capture's; the session reads it typed.
        let identity = "0000000000 outbound_34473 inbound peertest loopback/outbound_34473-b ringing"
        #expect(callers.all == [identity, identity])
    }

    @Test("demo-ivr made in code with its settings plays, reads and stores what they say")
    func demoIVRWithSettings() async throws {
        var settings = DemoIVR.Settings()
        settings.prompt = "ivr/ivr-enter_ext.wav"
        settings.minDigits = 3
        settings.maxDigits = 4
        settings.timeout = .milliseconds(1500)
        settings.terminators = "*#"
        settings.resultVariable = "extension_choice"
        let fake = try await FakeFreeSWITCH.start()
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (_, port) = try await startOutboundListener(DemoIVR(settings: settings), in: &group)
            let call = try await fake.placeCall(to: port, script: CallScript(digits: "1001*"))
            #expect(
                call.applications[1].argument
                    == #"3 4 1 1500 *# ivr/ivr-enter_ext.wav silence_stream://250 demo_digits \d+"#
            )
            #expect(call.variables["extension_choice"] == "1001")
            #expect(call.variables["switchboard_result"] == nil)
            let tooShort = try await fake.placeCall(to: port, script: CallScript(digits: "12#"))
            #expect(tooShort.variables["extension_choice"] == "none")
            group.cancelAll()
        }
        await fake.stop()
    }

    @Test("DemoIVR.Settings.validate names each bad value by its key")
    func demoIVRSettingsValidation() {
        var settings = DemoIVR.Settings()
        #expect(settings.validate().isEmpty)
        settings.maxDigits = 2
        settings.minDigits = 3
        settings.tries = 0
        settings.terminators = "x"
        settings.prompt = "my prompt.wav"
        settings.resultVariable = "a=b"
        #expect(
            settings.validate().map(\.description) == [
                "prompt: must be one sound (a file or tone_stream://…) without spaces or quotes",
                "minDigits: must be from 0 to maxDigits (2), found 3",
                "tries: must be from 1 to 20, found 0",
                #"terminators: must be one or more of 0-9, * and #, found "x""#,
                "resultVariable: must be a channel variable name: one word without '=' or quotes",
            ]
        )
    }

    @Test("event-logger logs only the events its settings allow, CUSTOM ones by subclass")
    func eventLoggerAllowList() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let lines = Collector<String>()
        let logger = Logger(label: "event-logger-test") { _ in LineCollectingLogHandler(lines: lines) }
        let listener = InboundListener(
            configuration: InboundConfiguration(port: fake.port, events: ["ALL"]),
            handler: EventLogger(settings: .init(events: ["CHANNEL_ANSWER", "sofia::register"])),
            logger: logger
        )
        try await withRunning(listener) {
            try await fake.waitForSubscribers()
            fake.emit(.channel("CHANNEL_CREATE", uuid: "call-1"))
            fake.emit(.channel("CHANNEL_ANSWER", uuid: "call-1"))
            fake.emit(.custom(subclass: "sofia::unregister"))
            fake.emit(.custom(subclass: "sofia::register"))
            fake.emit(.channel("CHANNEL_ANSWER", uuid: "call-2"))
            // Events of different channels run in different lanes, so their order across channels is not fixed.
            try await eventually("the three allowed events to be logged") {
                lines.all.filter { $0.hasPrefix("event ") }.count >= 3
            }
        }
        await fake.stop()
        #expect(
            lines.all.filter { $0.hasPrefix("event ") }.sorted() == [
                "event CHANNEL_ANSWER call-1", "event CHANNEL_ANSWER call-2", "event CUSTOM -",
            ]
        )
        #expect(EventLogger.Settings(events: []).validate().map(\.key) == ["events"])
        #expect(EventLogger.Settings(events: ["A", "B C"]).validate().map(\.key) == ["events[1]"])
    }
}

/// Keeps the message of every entry at info or above.
private struct LineCollectingLogHandler: LogHandler {
    let lines: Collector<String>
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.append("\(event.message)")
    }
}
