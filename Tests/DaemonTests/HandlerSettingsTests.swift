import Handlers
import Logging
import NIOCore
import Switchboard
import SwitchboardDaemon
import SwitchboardTesting
import Synchronization
import Testing

/// An inbound handler without settings.
private struct HangupReporter: InboundHandler, RegisteredHandler {
    static let name = "hangup-reporter"
    static let summary = "Takes no settings"
}

/// An outbound handler whose settings nest an object and a dictionary and check their values.
private struct Router: OutboundHandler, RegisteredHandler {
    static let name = "router"
    static let summary = "Routes by digit"

    struct Settings: HandlerSettings, Equatable {
        struct Fallback: Decodable, Sendable, Equatable {
            var context = "default"
            var extensionNumber = "0"

            init() {}

            init(context: String, extensionNumber: String) {
                self.context = context
                self.extensionNumber = extensionNumber
            }

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                context = try container.decodeIfPresent(String.self, forKey: .context) ?? context
                extensionNumber =
                    try container.decodeIfPresent(String.self, forKey: .extensionNumber) ?? extensionNumber
            }

            enum CodingKeys: String, CodingKey {
                case context
                case extensionNumber = "extension"
            }
        }

        var routes: [String: String] = [:]
        var fallback = Fallback()

        init() {}

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            routes = try container.decodeIfPresent([String: String].self, forKey: .routes) ?? routes
            fallback = try container.decodeIfPresent(Fallback.self, forKey: .fallback) ?? fallback
        }

        func validate() -> [SettingsProblem] {
            routes.keys.sorted().filter { $0.count != 1 || !"0123456789".contains($0) }.map {
                SettingsProblem(key: "routes.\($0)", "must be one digit, 0 to 9")
            }
        }

        enum CodingKeys: String, CodingKey {
            case routes, fallback
        }
    }

    let settings: Settings

    init(settings: Settings) { self.settings = settings }

    func run(_ session: OutboundSession) async throws {}
}

/// An inbound handler whose settings have required keys and no defaults (plain `Decodable`, synthesized).
private struct RecordPoster: InboundHandler, RegisteredHandler {
    static let name = "record-poster"
    static let summary = "Needs a URL"

    struct Settings: Decodable, Sendable {
        var url: String
        var retries: Int
    }

    struct NeedsSettings: Error {}

    let settings: Settings

    init(settings: Settings) { self.settings = settings }

    init() throws { throw NeedsSettings() }
}

private let registry = HandlerRegistry(
    inbound: [EventLogger.self, HangupReporter.self, RecordPoster.self],
    outbound: [DemoIVR.self, Router.self]
)

@Suite("Handler settings in the configuration")
struct HandlerSettingsTests {
    let loader = ConfigurationLoader(registry: registry)

    @Test("every settings problem is reported at once, with its key path, line and column")
    func allProblems() throws {
        let json = """
            {
              "listeners": [
                { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": 8084,
                  "settings": { "maxDigits": 0, "tries": "three", "promt": "a.wav", "timeoutSeconds": -1 } },
                { "name": "events", "kind": "inbound", "handler": "event-logger",
                  "settings": { "events": ["CHANNEL_ANSWER", "two words"] } },
                { "name": "router", "kind": "outbound", "handler": "router", "port": 8085,
                  "settings": { "routes": { "1": "sales", "12": "x" }, "fallback": { "context": 7, "exten": "0" } } },
                { "name": "poster", "kind": "inbound", "handler": "record-poster" },
                { "name": "plain", "kind": "inbound", "handler": "hangup-reporter", "settings": { "verbose": true } },
                { "name": "odd", "kind": "outbound", "handler": "demo-ivr", "port": 8086, "settings": [1] },
                { "name": "counts", "kind": "inbound", "handler": "record-poster",
                  "settings": { "url": "http://x", "retries": 2.5 } }
              ]
            }
            """
        let error = try #require(throws: ConfigurationError.self) { try loader.load(json: json, file: "s.json") }
        #expect(
            error.problems.map(\.description) == [
                "listeners[0].settings.maxDigits (line 4, column 34): must be from 1 to 128, found 0",
                #"listeners[0].settings.tries (line 4, column 46): must be an integer, found a string "three""#,
                #"listeners[0].settings.promt (line 4, column 55): unknown key; did you mean "prompt"?"#,
                "listeners[0].settings.timeoutSeconds (line 4, column 91): must be more than 0 and at most 3600, "
                    + "found -1",
                "listeners[1].settings.events[1] (line 6, column 50): must be one event name without spaces, "
                    + #"found "two words""#,
                "listeners[2].settings.routes.12 (line 8, column 53): must be one digit, 0 to 9",
                "listeners[2].settings.fallback.context (line 8, column 85): must be a string, found a number 7",
                "listeners[2].settings.fallback.exten (line 8, column 88): unknown key; expected one of: "
                    + #""context", "extension""#,
                #"listeners[3].settings.url (line 9, column 5): the key "url" is required"#,
                "listeners[4].settings.verbose (line 10, column 87): unknown key; "
                    + #"the handler "hangup-reporter" takes no settings"#,
                "listeners[5].settings (line 11, column 91): must be an object, found an array",
                "listeners[6].settings.retries (line 13, column 51): must be a whole number, found 2.5",
            ]
        )
        #expect(error.description.hasPrefix("s.json: invalid configuration, 12 problems\n"))
    }

    @Test("decoded settings reach the handler the registry creates; a listener without settings gets the defaults")
    func settingsReachTheHandler() throws {
        let json = """
            {
              "listeners": [
                { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": 8084,
                  "settings": { "prompt": "ivr/ivr-enter_ext.wav", "maxDigits": 3, "timeoutSeconds": 2.5 } },
                { "name": "router", "kind": "outbound", "handler": "router", "port": 8085,
                  "settings": { "routes": { "1": "sales" }, "fallback": { "extension": "9" } } },
                { "name": "events", "kind": "inbound", "handler": "event-logger" },
                { "name": "poster", "kind": "inbound", "handler": "record-poster",
                  "settings": { "url": "http://127.0.0.1/records", "retries": 3 } }
              ]
            }
            """
        let configuration = try loader.load(json: json)
        let outbound = configuration.outboundListeners
        let ivr = try #require(
            try registry.makeOutbound(named: "demo-ivr", settings: outbound[0].handlerSettings?.decoded) as? DemoIVR
        )
        var expected = DemoIVR.Settings()
        expected.prompt = "ivr/ivr-enter_ext.wav"
        expected.maxDigits = 3
        expected.timeout = .milliseconds(2500)
        #expect(ivr.settings == expected)

        let router = try #require(
            try registry.makeOutbound(named: "router", settings: outbound[1].handlerSettings?.decoded) as? Router
        )
        #expect(router.settings.routes == ["1": "sales"])
        #expect(router.settings.fallback == .init(context: "default", extensionNumber: "9"))

        let events = configuration.inboundListeners[0]
        #expect(events.handlerSettings == nil)
        let logger = try #require(try registry.makeInbound(named: "event-logger", settings: nil) as? EventLogger)
        #expect(logger.settings.events == nil)

        let poster = try #require(
            try registry.makeInbound(
                named: "record-poster",
                settings: configuration.inboundListeners[1].handlerSettings?.decoded
            ) as? RecordPoster
        )
        #expect(poster.settings.url == "http://127.0.0.1/records")
        #expect(poster.settings.retries == 3)
    }

    @Test("the keys a handler's settings read, for `switchboard handlers`")
    func settingsKeys() {
        #expect(
            loader.settingsKeys(ofHandler: "demo-ivr") == [
                "prompt", "invalidPrompt", "endPrompt", "minDigits", "maxDigits", "tries", "timeoutSeconds",
                "terminators", "resultVariable",
            ]
        )
        #expect(loader.settingsKeys(ofHandler: "event-logger") == ["events"])
        #expect(loader.settingsKeys(ofHandler: "router") == ["routes", "fallback"])
        #expect(loader.settingsKeys(ofHandler: "hangup-reporter") == [])
        #expect(loader.settingsKeys(ofHandler: "nobody") == [])
    }

    @Test("settings for the built-in rayo handler are refused: its settings are the top-level rayo object")
    func rayoTakesNoSettings() throws {
        let json = #"""
            {"listeners": [{"name": "r", "kind": "outbound", "handler": "rayo", "settings": {"x": 1}}],
             "rayo": {"domain": "rayo.example.com", "users": [{"name": "u", "password": "p"}]}}
            """#
        let error = try #require(throws: ConfigurationError.self) { try loader.load(json: json) }
        #expect(error.problems.map(\.keyPath) == ["listeners[0].settings"])
        #expect(error.problems.first?.code == .invalidValue)
    }

    @Test("settings in the config reach demo-ivr on a call through the daemon")
    func settingsReachDemoIVROnACall() async throws {
        let json = """
            {
              "listeners": [
                { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": 8084,
                  "settings": { "prompt": "ivr/ivr-enter_ext.wav", "endPrompt": "ivr/ivr-thank_you.wav",
                                "minDigits": 2, "maxDigits": 3, "tries": 2, "timeoutSeconds": 2.5,
                                "terminators": "*", "resultVariable": "caller_choice" } }
              ]
            }
            """
        var configuration = try loader.load(json: json)
        // A free port instead of 8084, as `switchboard demo` does.
        configuration.listeners = configuration.listeners.map { listener in
            guard case .outbound(var settings) = listener else { return listener }
            settings.port = 0
            return .outbound(settings)
        }
        let fake = try await FakeFreeSWITCH.start()
        let daemon = Daemon(
            configuration: configuration,
            registry: registry,
            logFile: LogFile.standardError(),
            logger: Logger(label: "settings-test") { _ in SwiftLogNoOpLogHandler() }
        )
        let ports = AsyncStream.makeStream(of: Int.self)
        let record = try await withThrowingTaskGroup(of: CallRecord?.self) { group in
            group.addTask {
                try await daemon.run { _, address in ports.continuation.yield(address.port ?? 0) }
                return nil
            }
            defer { group.cancelAll() }
            var bound = ports.stream.makeAsyncIterator()
            let port = try #require(await bound.next())
            return try await fake.placeCall(to: port, script: CallScript(digits: "123*"))
        }
        await fake.stop()
        #expect(record.applications.map(\.name) == ["answer", "play_and_get_digits", "set", "playback", "hangup"])
        #expect(
            record.applications[1].argument
                == #"2 3 2 2500 * ivr/ivr-enter_ext.wav silence_stream://250 demo_digits \d+"#
        )
        #expect(record.applications[2].argument == "caller_choice=123")
        #expect(record.applications[3].argument == "ivr/ivr-thank_you.wav")
        #expect(record.variables["caller_choice"] == "123")
    }
}
