import Handlers
import Logging
import Switchboard
import SwitchboardDaemon
import Testing

/// One configuration with exactly one thing wrong, and where the loader must say it is.
struct BadConfiguration: Sendable, CustomTestStringConvertible {
    var name: String
    var json: String
    var code: ConfigurationProblem.Code
    var keyPath: String

    var testDescription: String { name }
}

private let inboundBase = #""name": "events", "kind": "inbound", "handler": "event-logger""#
private let outboundBase = #""name": "ivr", "kind": "outbound", "handler": "demo-ivr""#

/// A configuration whose listeners are an inbound one with `inbound` appended and an outbound one with `outbound`.
private func configuration(
    log: String = #"{ "level": "info" }"#,
    inbound: String = "",
    outbound: String = "",
    more: [String] = []
) -> String {
    let listeners = ["{ \(inboundBase)\(inbound) }", "{ \(outboundBase)\(outbound) }"] + more
    return """
        {
          "log": \(log),
          "listeners": [
            \(listeners.joined(separator: ",\n    "))
          ]
        }
        """
}

private func bad(
    _ name: String,
    _ json: String,
    _ code: ConfigurationProblem.Code,
    _ keyPath: String
) -> BadConfiguration {
    BadConfiguration(name: name, json: json, code: code, keyPath: keyPath)
}

private let badConfigurations: [BadConfiguration] = [
    bad("unknown top-level key", #"{ "listeners": [{ \#(inboundBase) }], "logs": {} }"#, .unknownKey, "logs"),
    bad("unknown log key", configuration(log: #"{ "levl": "info" }"#), .unknownKey, "log.levl"),
    bad("unknown inbound key", configuration(inbound: #", "prot": 8021"#), .unknownKey, "listeners[0].prot"),
    bad("outbound key on inbound", configuration(inbound: #", "bind": "::""#), .unknownKey, "listeners[0].bind"),
    bad(
        "unknown reconnect key",
        configuration(inbound: #", "reconnect": { "initial": 1 }"#),
        .unknownKey,
        "listeners[0].reconnect.initial"
    ),
    bad(
        "duplicate key",
        configuration(outbound: #", "port": 8084, "port": 8085"#),
        .duplicateKey,
        "listeners[1].port"
    ),
    bad("log not an object", configuration(log: #""info""#), .wrongType, "log"),
    bad("port as string", configuration(inbound: #", "port": "8021""#), .wrongType, "listeners[0].port"),
    bad("port with fraction", configuration(outbound: #", "port": 8084.5"#), .wrongType, "listeners[1].port"),
    bad("password as number", configuration(inbound: #", "password": 1234"#), .wrongType, "listeners[0].password"),
    bad("events not an array", configuration(inbound: #", "events": "ALL""#), .wrongType, "listeners[0].events"),
    bad(
        "event not a string",
        configuration(inbound: #", "events": ["ALL", 7]"#),
        .wrongType,
        "listeners[0].events[1]"
    ),
    bad(
        "filter values not an array",
        configuration(inbound: #", "filters": { "Caller-Context": "default" }"#),
        .wrongType,
        "listeners[0].filters.Caller-Context"
    ),
    bad("listener not an object", configuration(more: [#""ivr2""#]), .wrongType, "listeners[2]"),
    bad("log file null", configuration(log: #"{ "file": null }"#), .wrongType, "log.file"),
    bad("port zero", configuration(inbound: #", "port": 0"#), .invalidValue, "listeners[0].port"),
    bad("port too large", configuration(outbound: #", "port": 65536"#), .invalidValue, "listeners[1].port"),
    bad(
        "empty name",
        #"{ "listeners": [{ "name": "", "kind": "outbound", "handler": "demo-ivr" }] }"#,
        .invalidValue,
        "listeners[0].name"
    ),
    bad(
        "name with a colon",
        #"{ "listeners": [{ "name": "a:b", "kind": "outbound", "handler": "demo-ivr" }] }"#,
        .invalidValue,
        "listeners[0].name"
    ),
    bad(
        "zero command timeout",
        configuration(inbound: #", "commandTimeoutSeconds": 0"#),
        .invalidValue,
        "listeners[0].commandTimeoutSeconds"
    ),
    bad(
        "negative command timeout",
        configuration(inbound: #", "commandTimeoutSeconds": -5"#),
        .invalidValue,
        "listeners[0].commandTimeoutSeconds"
    ),
    bad(
        "negative reconnect delay",
        configuration(inbound: #", "reconnect": { "initialDelaySeconds": -1 }"#),
        .invalidValue,
        "listeners[0].reconnect.initialDelaySeconds"
    ),
    bad(
        "initial delay above maximum",
        configuration(inbound: #", "reconnect": { "initialDelaySeconds": 10, "maxDelaySeconds": 5 }"#),
        .invalidValue,
        "listeners[0].reconnect.initialDelaySeconds"
    ),
    bad(
        "initial delay above default maximum",
        configuration(inbound: #", "reconnect": { "initialDelaySeconds": 60 }"#),
        .invalidValue,
        "listeners[0].reconnect.initialDelaySeconds"
    ),
    bad(
        "negative drain",
        configuration(outbound: #", "drainSeconds": -1"#),
        .invalidValue,
        "listeners[1].drainSeconds"
    ),
    bad("zero sessions", configuration(outbound: #", "maxSessions": 0"#), .invalidValue, "listeners[1].maxSessions"),
    bad("bad level", configuration(log: #"{ "level": "verbose" }"#), .invalidValue, "log.level"),
    bad("empty log file", configuration(log: #"{ "file": "" }"#), .invalidValue, "log.file"),
    bad("bad format", configuration(inbound: #", "format": "xml""#), .invalidValue, "listeners[0].format"),
    bad(
        "bad kind",
        #"{ "listeners": [{ "name": "x", "kind": "sideways", "handler": "demo-ivr" }] }"#,
        .invalidValue,
        "listeners[0].kind"
    ),
    bad(
        "event with a space",
        configuration(inbound: #", "events": ["CHANNEL ANSWER"]"#),
        .invalidValue,
        "listeners[0].events[0]"
    ),
    bad("no events", configuration(inbound: #", "events": []"#), .invalidValue, "listeners[0].events"),
    bad(
        "password with a line break",
        configuration(inbound: #", "password": "Clue\nCon""#),
        .invalidValue,
        "listeners[0].password"
    ),
    bad("no listeners", #"{ "listeners": [] }"#, .invalidValue, "listeners"),
    bad("listeners missing", #"{ "log": { "level": "info" } }"#, .missingKey, "listeners"),
    bad(
        "handler missing",
        #"{ "listeners": [{ "name": "x", "kind": "outbound" }] }"#,
        .missingKey,
        "listeners[0].handler"
    ),
    bad(
        "kind missing",
        #"{ "listeners": [{ "name": "x", "handler": "demo-ivr" }] }"#,
        .missingKey,
        "listeners[0].kind"
    ),
    bad(
        "duplicate name",
        configuration(more: [#"{ "name": "events", "kind": "outbound", "handler": "demo-ivr", "port": 9000 }"#]),
        .duplicateName,
        "listeners[2].name"
    ),
    bad(
        "duplicate port",
        configuration(more: [#"{ "name": "ivr2", "kind": "outbound", "handler": "demo-ivr" }"#]),
        .duplicatePort,
        "listeners[2].port"
    ),
    bad(
        "duplicate port on the wildcard address",
        configuration(more: [#"{ "name": "ivr2", "kind": "outbound", "handler": "demo-ivr", "bind": "0.0.0.0" }"#]),
        .duplicatePort,
        "listeners[2].port"
    ),
    bad(
        "unknown handler",
        configuration(more: [#"{ "name": "x", "kind": "outbound", "handler": "demo-ivr2", "port": 9000 }"#]),
        .unknownHandler,
        "listeners[2].handler"
    ),
    bad(
        "outbound handler on inbound listener",
        #"{ "listeners": [{ "name": "x", "kind": "inbound", "handler": "demo-ivr" }] }"#,
        .wrongHandlerKind,
        "listeners[0].handler"
    ),
    bad(
        "inbound handler on outbound listener",
        #"{ "listeners": [{ "name": "x", "kind": "outbound", "handler": "event-logger" }] }"#,
        .wrongHandlerKind,
        "listeners[0].handler"
    ),
    bad("top level not an object", #"[]"#, .wrongType, ""),
]

@Suite("Configuration")
struct ConfigurationTests {
    let loader = ConfigurationLoader(registry: testRegistry)

    @Test("the shipped etc/switchboard.json is valid and reads as written")
    func exampleConfiguration() throws {
        let configuration = try loader.load(contentsOf: Repository.path("etc/switchboard.json"))
        #expect(configuration.log == LogSettings(file: "/var/log/switchboard/switchboard.log", level: .info))
        #expect(configuration.listeners.count == 2)
        var events = try #require(configuration.inboundListeners.first)
        #expect(
            events.handlerSettings?.decoded.value(as: EventLogger.Settings.self)
                == EventLogger.Settings(events: ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"])
        )
        events.handlerSettings = nil
        #expect(
            events
                == InboundListenerSettings(
                    name: "events",
                    handler: "event-logger",
                    host: "127.0.0.1",
                    port: 8021,
                    password: "ClueCon",
                    events: ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"],
                    filters: ["Caller-Context": ["default"]],
                    format: .plain
                )
        )
        var ivr = try #require(configuration.outboundListeners.first)
        // The example spells out demo-ivr's defaults.
        #expect(ivr.handlerSettings?.decoded.value(as: DemoIVR.Settings.self) == DemoIVR.Settings())
        ivr.handlerSettings = nil
        #expect(ivr == OutboundListenerSettings(name: "ivr", handler: "demo-ivr", bind: "127.0.0.1", port: 8084))
        #expect(configuration.listeners.map(\.name) == ["events", "ivr"])
        #expect(configuration.listeners.map(\.kind) == [.inbound, .outbound])
        #expect(configuration.metrics == MetricsSettings(bind: "127.0.0.1", port: 9184))
    }

    @Test("keys left out take the documented defaults")
    func defaults() throws {
        let configuration = try loader.load(
            json: #"{ "listeners": [{ \#(inboundBase) }, { \#(outboundBase) }] }"#
        )
        #expect(configuration.log.file == nil)
        #expect(configuration.log.level == .info)
        let inbound = try #require(configuration.inboundListeners.first)
        #expect(inbound.host == "127.0.0.1")
        #expect(inbound.port == 8021)
        #expect(inbound.password == "ClueCon")
        #expect(inbound.events == ["ALL"])
        #expect(inbound.filters.isEmpty)
        #expect(inbound.format == .plain)
        #expect(inbound.reconnect.initialDelay == .milliseconds(500))
        #expect(inbound.reconnect.maxDelay == .seconds(30))
        #expect(inbound.commandTimeout == .seconds(30))
        let outbound = try #require(configuration.outboundListeners.first)
        #expect(outbound.bind == "127.0.0.1")
        #expect(outbound.port == 8084)
        #expect(outbound.maxSessions == 1000)
        #expect(outbound.drainTime == .seconds(30))
    }

    @Test("every key can be set")
    func everyKey() throws {
        let json = """
            {
              "log": { "file": "/tmp/switchboard.log", "level": "debug" },
              "listeners": [
                { "name": "events", "kind": "inbound", "handler": "event-logger", "host": "10.0.0.5", "port": 8022,
                  "password": "s3cret", "events": ["ALL"], "filters": { "Event-Name": ["CHANNEL_ANSWER", "HEARTBEAT"] },
                  "format": "json", "reconnect": { "initialDelaySeconds": 0.25, "maxDelaySeconds": 10 },
                  "commandTimeoutSeconds": 2.5 },
                { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "bind": "0.0.0.0", "port": 9084,
                  "maxSessions": 20, "drainSeconds": 0 }
              ]
            }
            """
        let configuration = try loader.load(json: json)
        #expect(configuration.log == LogSettings(file: "/tmp/switchboard.log", level: .debug))
        #expect(
            configuration.inboundListeners
                == [
                    InboundListenerSettings(
                        name: "events",
                        handler: "event-logger",
                        host: "10.0.0.5",
                        port: 8022,
                        password: "s3cret",
                        events: ["ALL"],
                        filters: ["Event-Name": ["CHANNEL_ANSWER", "HEARTBEAT"]],
                        format: .json,
                        reconnect: .init(initialDelay: .milliseconds(250), maxDelay: .seconds(10)),
                        commandTimeout: .milliseconds(2500)
                    )
                ]
        )
        #expect(
            configuration.outboundListeners
                == [
                    OutboundListenerSettings(
                        name: "ivr",
                        handler: "demo-ivr",
                        bind: "0.0.0.0",
                        port: 9084,
                        maxSessions: 20,
                        drainTime: .zero
                    )
                ]
        )
    }

    @Test("every log level name is accepted", arguments: Logger.Level.allCases)
    func logLevels(level: Logger.Level) throws {
        let configuration = try loader.load(
            json: #"{ "log": { "level": "\#(level.rawValue)" }, "listeners": [{ \#(outboundBase) }] }"#
        )
        #expect(configuration.log.level == level)
    }

    @Test("each kind of mistake is reported once, at its key path", arguments: badConfigurations)
    func badConfiguration(_ bad: BadConfiguration) throws {
        let error = try #require(throws: ConfigurationError.self) { try loader.load(json: bad.json, file: "x.json") }
        #expect(error.code == .invalid)
        #expect(error.problems.map(\.code) == [bad.code], "\(error)")
        #expect(error.problems.map(\.keyPath) == [bad.keyPath], "\(error)")
        #expect(error.problems.allSatisfy { $0.position != nil }, "\(error)")
        #expect(error.description.hasPrefix("x.json: invalid configuration, 1 problem\n  \(bad.keyPath)"))
    }

    @Test("an unknown key suggests the key it probably meant")
    func suggestion() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try loader.load(json: configuration(outbound: #", "maxSesions": 5"#))
        }
        #expect(error.problems.map(\.message) == [#"unknown key; did you mean "maxSessions"?"#])
    }

    @Test("an unknown handler lists the registered handlers of the listener's kind")
    func unknownHandlerMessage() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try loader.load(json: #"{ "listeners": [{ "name": "x", "kind": "outbound", "handler": "ivr" }] }"#)
        }
        #expect(
            error.problems.map(\.message) == [
                #"no handler is named "ivr"; registered outbound handlers: demo-ivr, rayo"#
            ]
        )
    }

    @Test("every problem is reported at once, in document order, with lines and columns")
    func allProblemsAtOnce() throws {
        let json = """
            {
              "log": { "level": "loud", "colour": true },
              "listeners": [
                { "name": "a", "kind": "inbound", "handler": "demo-ivr", "port": 99999 },
                { "name": "a", "kind": "outbound", "handler": "nobody", "drainSeconds": "30" },
                { "name": "b", "kind": "outbound", "handler": "demo-ivr", "port": 8084 }
              ]
            }
            """
        let error = try #require(throws: ConfigurationError.self) { try loader.load(json: json, file: "bad.json") }
        let found = error.problems.map {
            "\($0.code) \($0.keyPath) \($0.position.map(String.init(describing:)) ?? "-")"
        }
        #expect(
            found == [
                "invalidValue log.level line 2, column 21",
                "unknownKey log.colour line 2, column 29",
                "wrongHandlerKind listeners[0].handler line 4, column 50",
                "invalidValue listeners[0].port line 4, column 70",
                "duplicateName listeners[1].name line 5, column 15",
                "unknownHandler listeners[1].handler line 5, column 51",
                "wrongType listeners[1].drainSeconds line 5, column 77",
                "duplicatePort listeners[2].port line 6, column 71",
            ]
        )
        #expect(error.description.hasPrefix("bad.json: invalid configuration, 8 problems\n"))
        #expect(error.description.split(separator: "\n").count == 9)
    }

    @Test(
        "a JSON syntax error names its line and column",
        arguments: [
            ("{\n  \"listeners\": [\n    { \"name\": \"a\", }\n  ]\n}", 3, 20, "a trailing comma is not allowed"),
            ("{\n  \"log\": { \"level\": \"info\" }\n  \"listeners\": []\n}", 3, 3, "expected ',' or '}'"),
            ("{ \"log\": { \"level\": \"info }\n}", 1, 21, "unterminated string"),
            ("{ \"log\": { \"level\": \"info", 1, 21, "unterminated string"),
            ("{ \"listeners\": [ tru ] }", 1, 18, "invalid literal"),
            ("{ \"listeners\": [ 01 ] }", 1, 18, "leading zero"),
            ("{ \"log\": {} } }", 1, 15, "after the end of the top-level value"),
            ("", 1, 1, "the file is empty"),
            ("{ // comment\n}", 1, 3, "expected a member name"),
            ("{ \"é\": \"\u{1}\" }", 1, 9, "control character"),
            ("{ \"x\": \"\\q\" }", 1, 9, "invalid escape"),
            ("{ \"x\": \"\\uD800\" }", 1, 9, "unpaired UTF-16 surrogate"),
            ("{\r\n\t\"a\": [1, 2,, 3]\r\n}", 2, 13, "expected a value"),
        ]
    )
    func syntaxError(json: String, line: Int, column: Int, fragment: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try loader.load(json: json, file: "s.json") }
        let problem = try #require(error.problems.first)
        #expect(error.problems.count == 1)
        #expect(problem.code == .syntaxError)
        #expect(problem.keyPath == "")
        #expect(problem.position == TextPosition(line: line, column: column), "\(problem)")
        #expect(problem.message.contains(fragment), "\(problem)")
        #expect(
            error.description.contains("s.json: invalid configuration, 1 problem\n  line \(line), column \(column): ")
        )
    }

    @Test("text that is not UTF-8 is a syntax error at the first bad byte")
    func invalidUTF8() throws {
        let bytes = Array("{\n  \"log\": \"".utf8) + [0xC3, 0x28] + Array("\" }".utf8)
        let error = try #require(throws: ConfigurationError.self) { try loader.load(json: bytes) }
        #expect(error.problems.map(\.position) == [TextPosition(line: 2, column: 11)])
        #expect(error.problems.first?.message.contains("not valid UTF-8") == true)
    }

    @Test("escapes, surrogate pairs and a byte order mark are read")
    func stringEscapes() throws {
        let json =
            "\u{FEFF}"
            + #"{ "log": { "file": "/tmp/\u00e9\ud83d\ude00\t\"q\"\/x" }, "listeners": [{ \#(outboundBase) }] }"#
        let configuration = try loader.load(json: json)
        #expect(configuration.log.file == "/tmp/é😀\t\"q\"/x")
    }

    @Test("a missing file is reported as unreadable, with the reason")
    func missingFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("absent.json")
        let error = try #require(throws: ConfigurationError.self) { try loader.load(contentsOf: path) }
        #expect(error.code == .unreadable)
        #expect(error.problems.isEmpty)
        #expect(error.description == "\(path): cannot read the file: no such file or directory")
    }

    @Test("a directory is not a configuration file")
    func directoryAsFile() throws {
        let directory = try TemporaryDirectory()
        let error = try #require(throws: ConfigurationError.self) { try loader.load(contentsOf: directory.path) }
        #expect(error.code == .unreadable)
    }
}
