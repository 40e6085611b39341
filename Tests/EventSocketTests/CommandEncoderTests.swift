import EventSocket
import NIOCore
import TestSupport
import Testing

/// The command factories reproduce, byte for byte, what the capture clients sent to FreeSWITCH.
@Suite(.cpuBound)
struct CommandCaptureTests {
    @Test(arguments: Fixtures.eslCaptureNames)
    func factoriesReproduceToFreeSWITCH(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        let commands = try Self.commands(sentIn: capture)
        var offset = 0
        var boundaries: Set<Int> = [0]
        for (index, command) in commands.enumerated() {
            let bytes = command.encoded.bytes
            let sent = capture.toFreeSWITCH.dropFirst(offset).prefix(bytes.count)
            guard sent.elementsEqual(bytes) else {
                let encoded = String(decoding: bytes, as: UTF8.self).debugDescription
                let expected = String(decoding: sent, as: UTF8.self).debugDescription
                Issue.record("command \(index) '\(command)' encodes as \(encoded) but the client sent \(expected)")
                return
            }
            offset += bytes.count
            boundaries.insert(offset)
        }
        #expect(offset == capture.toFreeSWITCH.count, "bytes sent after the last expected command")
        // Every real write was made of whole commands.
        var written = 0
        for chunk in capture.outChunks {
            written += chunk.count
            #expect(boundaries.contains(written), "an out chunk ends inside a command, at byte \(written)")
        }
    }

    /// The commands each scenario's README lists, built with the factories. Channel UUIDs are read from what
    /// FreeSWITCH sent, not hard-coded; only the chosen Job-UUIDs and Event-UUIDs are.
    private static func commands(sentIn capture: ESLCapture) throws -> [EventSocketCommand] {
        let auth = try EventSocketCommand.auth(password: "ClueCon")
        switch capture.name {
        case "inbound-api-bgapi":
            func job(_ number: Int) -> String { "7f4db0f2-1111-4a3c-9b1e-00000000000\(number)" }
            return [
                auth,
                try .event(.plain, names: ["BACKGROUND_JOB"]),
                try .api("status"),
                try .api("show", arguments: "channels"),
                try .api("no_such_command"),
                try .api("uuid_kill", arguments: "00000000-0000-0000-0000-000000000000"),
                try .backgroundAPI("status", jobUUID: job(1)),
                try .backgroundAPI("msleep", arguments: "1500", jobUUID: job(2)),
                try .backgroundAPI("msleep", arguments: "500", jobUUID: job(3)),
                try .backgroundAPI("version", jobUUID: job(4)),
                try .backgroundAPI("no_such_command", jobUUID: job(5)),
                // No factory sends a bgapi without a Job-UUID: backgroundAPI always names the job.
                try EventSocketCommand(line: "bgapi status"),
                .exit,
            ]
        case "inbound-auth-bad":
            return [try .auth(password: "WrongPassword")]
        case "inbound-auth-ok-events-plain", "inbound-events-json", "inbound-events-xml":
            let format: EventSocketEvent.Format =
                capture.name.hasSuffix("json") ? .json : capture.name.hasSuffix("xml") ? .xml : .plain
            return [auth, try .event(format, names: ["ALL"]), try originate(capture), .exit]
        case "inbound-filters":
            let first = try #require(try capture.events().first { $0.name == "CHANNEL_CREATE" }?.uniqueID)
            let second = try #require(
                try capture.frames(.disconnectNotice).first.flatMap { DisconnectNotice($0).controlledSessionUUID }
            )
            let custom = { (subclass: String, note: String) in
                try EventSocketCommand.sendEvent("CUSTOM", headers: ["Event-Subclass": subclass, "X-Note": note])
            }
            return [
                auth,
                // CUSTOM and its subclass go last whatever the order given.
                try .event(
                    .plain,
                    names: ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CUSTOM", "CHANNEL_HANGUP_COMPLETE", "test::filters"]
                ),
                try .filter(header: "Unique-ID", value: first),
                try EventSocketCommand(
                    line: "bgapi originate {origination_uuid=\(first)}loopback/tone/peertest &park()"
                ),
                try .filterDelete(header: "Unique-ID", value: first),
                try .filter(header: "Event-Subclass", value: "test::filters"),
                try custom("test::filters", "passes-filter"),
                try custom("test::other", "blocked-by-filter"),
                try .filterDelete(header: nil),
                try .nixEvent(names: ["CHANNEL_CREATE"]),
                .noEvents,
                try custom("test::filters", "after-noevents"),
                try .myEvents(uuid: "00000000-0000-4000-8000-000000000000", format: .plain),
                try .myEvents(uuid: second, format: .plain),
                try custom("test::filters", "not-delivered-after-myevents"),
            ]
        case "inbound-large-api":
            return [auth, try .api("show", arguments: "modules as xml"), try .api("show", arguments: "modules"), .exit]
        case "inbound-log":
            return [auth, try .log(level: "7"), try originate(capture), .noLog, .exit]
        case "inbound-sendevent-custom":
            let body = "line one of the body\nline two: with colon\n\nafter a blank line\n"
            let custom = { (fixture: String, body: String?) in
                try EventSocketCommand.sendEvent(
                    "CUSTOM",
                    headers: ["Event-Subclass": "fixture::test", "X-Fixture": fixture],
                    body: body
                )
            }
            return [
                auth,
                try .event(.plain, names: ["CUSTOM"], customSubclasses: ["fixture::test"]),
                try custom("with-body", body),
                try custom("no-body", nil),
                try .event(.json, names: ["CUSTOM", "fixture::test"]),
                try custom("with-body-json", body),
                .exit,
            ]
        case "inbound-userauth":
            return [
                try .userAuth(user: "esl", domain: "127.0.0.1", password: "esl-secret"),
                try .api("status"),
                try .api("global_getvar", arguments: "hostname"),
                try .event(.plain, names: ["HEARTBEAT"]),
                .exit,
            ]
        case "outbound-async-full":
            func uuid(_ number: Int) -> String { "a0000000-0000-4000-8000-00000000a00\(number)" }
            return [
                .connect, try .myEvents(), .linger(),
                try .execute(ApplicationExecution("answer", eventUUID: uuid(1))),
                try .execute(ApplicationExecution("set", argument: "fixture_var=hello world", eventUUID: uuid(2))),
                try .execute(
                    ApplicationExecution(
                        "playback",
                        argument: "tone_stream://%(200,100,440);loops=3",
                        eventUUID: uuid(3)
                    )
                ),
                try .execute(ApplicationExecution("hangup", argument: "NORMAL_CLEARING", eventUUID: uuid(4))),
            ]
        case "outbound-caller-hangup":
            func uuid(_ number: Int) -> String { "d0000000-0000-4000-8000-00000000d00\(number)" }
            return [
                .connect, try .myEvents(), .linger(),
                try .execute(ApplicationExecution("answer", eventUUID: uuid(1))),
                try .execute(
                    ApplicationExecution(
                        "playback",
                        argument: "tone_stream://%(1000,0,440);loops=-1",
                        eventUUID: uuid(2)
                    )
                ),
            ]
        case "outbound-dtmf":
            func uuid(_ number: Int) -> String { "c0000000-0000-4000-8000-00000000c00\(number)" }
            let digits = "4 5 1 8000 # tone_stream://%(100,0,600) silence_stream://250 fixture_digits \\d+"
            return [
                .connect, try .myEvents(), .linger(),
                try .execute(ApplicationExecution("answer", eventUUID: uuid(1))),
                try .execute(ApplicationExecution("play_and_get_digits", argument: digits, eventUUID: uuid(2))),
                try .execute(ApplicationExecution("hangup", argument: "NORMAL_CLEARING", eventUUID: uuid(3))),
            ]
        case "outbound-getvar-api":
            let channel = try capture.channelData().uniqueID
            return [
                .connect,
                try .getVar("fixture_missing"),
                try .getVar("channel_name"),
                try .api("uuid_getvar", arguments: "\(channel) channel_name"),
                try .api("status"),
                try .backgroundAPI("status", jobUUID: "e0000000-0000-4000-8000-00000000e001"),
                try .event(.plain, names: ["BACKGROUND_JOB"]),
                try .backgroundAPI("version", jobUUID: "e0000000-0000-4000-8000-00000000e002"),
                .exit,
            ]
        case "outbound-sync":
            func uuid(_ number: Int) -> String { "b0000000-0000-4000-8000-00000000b00\(number)" }
            return [
                .connect, try .myEvents(), .linger(),
                try .execute(ApplicationExecution("answer", eventUUID: uuid(1))),
                try .execute(
                    ApplicationExecution(
                        "playback",
                        argument: "tone_stream://%(200,100,440);loops=3",
                        eventUUID: uuid(2)
                    )
                ),
                try .execute(ApplicationExecution("set", argument: "fixture_var=sync", eventUUID: uuid(3))),
                try .execute(ApplicationExecution("hangup", argument: "NORMAL_CLEARING", eventUUID: uuid(4))),
            ]
        case "outbound-bridge-far-end-hangup", "outbound-bridge-caller-hangup", "outbound-bridge-busy",
            "outbound-bridge-no-answer", "outbound-bridge-failed", "outbound-bridge-continue-on-fail",
            "outbound-bridge-hangup-after-bridge":
            return try bridgeCommands(capture.name)
        case "outbound-hangup-command":
            return [
                .connect, try .myEvents(), .linger(),
                try .execute(ApplicationExecution("answer", eventUUID: "d0000000-0000-4000-8000-00000000d001")),
                try .hangup(cause: "CALL_REJECTED"),
                .exit,
            ]
        default:
            throw FixtureError("no expected commands for capture '\(capture.name)'")
        }
    }

    /// The bridge captures: [`set`,] answer, `bridge` to a far end with a fixed UUID, [`hangup` when the call stayed
    /// up,] `exit`.
    private static func bridgeCommands(_ name: String) throws -> [EventSocketCommand] {
        func uuid(_ suffix: String) -> String { "d0000000-0000-4000-8000-00000000d\(suffix)" }
        let farEnd = "{origination_uuid=b0000000-0000-4000-8000-0000000000b1"
        let (setting, dialString, callStaysUp): (String?, String, Bool) =
            switch name {
            case "outbound-bridge-far-end-hangup": (nil, farEnd + "}loopback/echo/peertest", true)
            case "outbound-bridge-caller-hangup": (nil, farEnd + "}loopback/echo/peertest", false)
            case "outbound-bridge-busy": (nil, farEnd + "}loopback/hangup:USER_BUSY/peertest/inline", false)
            case "outbound-bridge-no-answer": (nil, farEnd + ",originate_timeout=2}loopback/park/peertest", true)
            case "outbound-bridge-failed": (nil, farEnd + "}loopback/no_such_extension/peertest", false)
            case "outbound-bridge-continue-on-fail":
                (
                    "continue_on_fail=NORMAL_TEMPORARY_FAILURE,USER_BUSY",
                    farEnd + "}loopback/hangup:USER_BUSY/peertest/inline", true
                )
            default: ("hangup_after_bridge=true", farEnd + "}loopback/echo/peertest", false)
            }
        var commands: [EventSocketCommand] = [.connect, try .myEvents(), .linger()]
        if let setting {
            commands.append(try .execute(ApplicationExecution("set", argument: setting, eventUUID: uuid("000"))))
        }
        commands.append(try .execute(ApplicationExecution("answer", eventUUID: uuid("001"))))
        commands.append(try .execute(ApplicationExecution("bridge", argument: dialString, eventUUID: uuid("002"))))
        if callStaysUp {
            commands.append(
                try .execute(ApplicationExecution("hangup", argument: "NORMAL_CLEARING", eventUUID: uuid("0ff")))
            )
        }
        return commands + [.exit]
    }

    /// `api originate {origination_uuid=<uuid>}loopback/tone/peertest &park()`, the uuid read from its `+OK <uuid>`.
    private static func originate(_ capture: ESLCapture) throws -> EventSocketCommand {
        let response = try #require(try capture.frames(.apiResponse).first).bodyText
        let uuid = String(response.dropFirst("+OK ".count).prefix(36))
        return try .api("originate", arguments: "{origination_uuid=\(uuid)}loopback/tone/peertest &park()")
    }
}

/// Command encoding on its own: exact bytes, ordering rules, bodies, and refusal of CR/LF in any value.
@Suite struct CommandEncoderTests {
    private static func wire(_ command: EventSocketCommand) -> String {
        String(buffer: command.encoded)
    }

    @Test func simpleCommandsEncodeExactly() throws {
        #expect(Self.wire(try .auth(password: "ClueCon")) == "auth ClueCon\n\n")
        #expect(
            Self.wire(try .userAuth(user: "esl", domain: "example.org", password: "p w"))
                == "userauth esl@example.org:p w\n\n"
        )
        #expect(Self.wire(.noEvents) == "noevents\n\n")
        #expect(Self.wire(.noLog) == "nolog\n\n")
        #expect(Self.wire(.linger()) == "linger\n\n")
        #expect(Self.wire(.linger(seconds: 10)) == "linger 10\n\n")
        #expect(Self.wire(.noLinger) == "nolinger\n\n")
        #expect(Self.wire(.resume) == "resume\n\n")
        #expect(Self.wire(.connect) == "connect\n\n")
        #expect(Self.wire(.exit) == "exit\n\n")
        #expect(Self.wire(.divertEvents(true)) == "divert_events on\n\n")
        #expect(Self.wire(.divertEvents(false)) == "divert_events off\n\n")
        #expect(Self.wire(try .myEvents()) == "myevents\n\n")
        #expect(Self.wire(try .myEvents(format: .json)) == "myevents json\n\n")
        #expect(Self.wire(try .myEvents(uuid: "u-1", format: .xml)) == "myevents u-1 xml\n\n")
        #expect(
            Self.wire(try .filter(header: "Event-Name", value: "/^CHANNEL_.*$/"))
                == "filter Event-Name /^CHANNEL_.*$/\n\n"
        )
        #expect(Self.wire(try .filterDelete(header: "Event-Name")) == "filter delete Event-Name\n\n")
        #expect(Self.wire(try .filterDelete(header: nil)) == "filter delete all\n\n")
        #expect(Self.wire(try .log(level: "DEBUG")) == "log DEBUG\n\n")
        #expect(Self.wire(try .getVar("caller_id_name")) == "getvar caller_id_name\n\n")
        #expect(Self.wire(try .api("show", arguments: "calls as json")) == "api show calls as json\n\n")
        #expect(
            Self.wire(try .backgroundAPI("originate", arguments: "user/1000 &park()", jobUUID: "j-1"))
                == "bgapi originate user/1000 &park()\nJob-UUID: j-1\n\n"
        )
    }

    @Test func customAndItsSubclassesAlwaysGoLast() throws {
        #expect(
            Self.wire(try .event(.plain, names: ["CUSTOM", "CHANNEL_EXECUTE"]))
                == "event plain CHANNEL_EXECUTE CUSTOM\n\n"
        )
        #expect(
            Self.wire(try .event(.json, names: ["sofia::register", "CHANNEL_ANSWER", "CHANNEL_ANSWER"]))
                == "event json CHANNEL_ANSWER CUSTOM sofia::register\n\n"
        )
        #expect(
            Self.wire(try .event(.xml, names: ["HEARTBEAT"], customSubclasses: ["a::b", "c::d", "a::b"]))
                == "event xml HEARTBEAT CUSTOM a::b c::d\n\n"
        )
        #expect(Self.wire(try .nixEvent(names: ["CUSTOM", "DTMF"])) == "nixevent DTMF CUSTOM\n\n")
        let error = #expect(throws: EventSocketError.self) { try EventSocketCommand.event(.plain, names: []) }
        #expect(error?.code == .invalidCommand)
    }

    /// A multi-line argument cannot go in a header line: it travels as a text/plain body whose Content-Length
    /// counts UTF-8 bytes, not characters.
    @Test func aMultiLineArgumentTravelsAsABodyCountedInBytes() throws {
        let argument = "Grüße\nzweite Zeile ☎"
        #expect(argument.count == 20)
        let command = try EventSocketCommand.execute(
            ApplicationExecution("speak", argument: argument, eventUUID: "e-1"),
            uuid: "u-1"
        )
        #expect(
            command.encoded.bytes
                == Array(
                    ("sendmsg u-1\ncall-command: execute\nexecute-app-name: speak\ncontent-type: text/plain\n"
                        + "Event-UUID: e-1\nContent-Length: 24\n\nGrüße\nzweite Zeile ☎").utf8
                )
        )
        #expect(command.body == argument)
        #expect(command.headers["execute-app-arg"] == nil)
    }

    @Test func aLongArgumentTravelsAsABody() throws {
        let limit = EventSocketCommand.maxHeaderArgumentBytes
        let fits = try EventSocketCommand.execute(
            ApplicationExecution("log", argument: String(repeating: "a", count: limit))
        )
        #expect(fits.headers["execute-app-arg"]?.utf8.count == limit)
        #expect(fits.body == nil)
        let long = String(repeating: "é", count: limit / 2 + 1)  // fewer characters than the limit, more bytes
        let tooLong = try EventSocketCommand.execute(ApplicationExecution("log", argument: long))
        #expect(tooLong.headers["execute-app-arg"] == nil)
        #expect(tooLong.headers["content-type"] == "text/plain")
        #expect(Self.wire(tooLong).hasSuffix("Content-Length: \(limit + 2)\n\n\(long)"))
    }

    @Test func executeOptionsAndHangup() throws {
        let execution = ApplicationExecution(
            "playback",
            argument: "/tmp/a.wav",
            loops: 3,
            eventLock: true,
            eventUUID: "e-2",
            async: true,
            holdBLeg: true
        )
        #expect(
            Self.wire(try .execute(execution))
                == "sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: /tmp/a.wav\n"
                + "loops: 3\nevent-lock: true\nasync: true\nhold-bleg: true\nEvent-UUID: e-2\n\n"
        )
        #expect(Self.wire(try .hangup()) == "sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        #expect(
            Self.wire(try .hangup(cause: "USER_BUSY", uuid: "u-2"))
                == "sendmsg u-2\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n"
        )
        #expect(
            Self.wire(try .sendMessage(uuid: "u-3", headers: ["call-command": "unicast"], body: "x\ny"))
                == "sendmsg u-3\ncall-command: unicast\nContent-Length: 3\n\nx\ny"
        )
    }

    @Test func encodeIntoAppendsTheSameBytes() throws {
        let command = try EventSocketCommand.sendEvent("CUSTOM", headers: ["Event-Subclass": "a::b"], body: "é")
        var buffer = ByteBuffer(string: "before|")
        command.encode(into: &buffer)
        #expect(String(buffer: buffer) == "before|sendevent CUSTOM\nEvent-Subclass: a::b\nContent-Length: 2\n\né")
        #expect(Self.wire(command) == "sendevent CUSTOM\nEvent-Subclass: a::b\nContent-Length: 2\n\né")
    }

    @Test func descriptionsMaskPasswords() throws {
        #expect("\(try EventSocketCommand.auth(password: "s3cret"))" == "auth ******")
        #expect("\(try EventSocketCommand.userAuth(user: "u", domain: "d", password: "s3cret"))" == "userauth ******")
        #expect("\(try EventSocketCommand.api("status"))" == "api status")
    }

    @Test func sendmsgDescriptionsNameWhatTheyAskFor() throws {
        let playback = ApplicationExecution("playback", argument: "/tmp/secret-name.wav", eventUUID: "e-1")
        #expect("\(try EventSocketCommand.execute(playback))" == "sendmsg execute playback")
        #expect("\(try EventSocketCommand.execute(playback, uuid: "u-1"))" == "sendmsg u-1 execute playback")
        #expect("\(try EventSocketCommand.hangup(cause: "USER_BUSY"))" == "sendmsg hangup")
    }

    @Test(arguments: InjectionCase.all, ["a\nb", "a\rb", "\r\n", "tail\n"])
    func crOrLFInAnyValueIsRejected(_ injection: InjectionCase, _ value: String) {
        let error = #expect(throws: EventSocketError.self) { try injection.build(value) }
        #expect(error?.code == .invalidCommand)
    }

    @Test(arguments: [
        InjectionCase("userauth user with a space") { _ in try .userAuth(user: "a b", domain: "d", password: "p") },
        InjectionCase("empty getvar name") { _ in try .getVar("") },
        InjectionCase("api command with a space") { _ in try .api("show channels") },
        InjectionCase("empty header name") { _ in try EventSocketCommand(line: "x", headers: ["": "v"]) },
        InjectionCase("header name with a colon") { _ in try EventSocketCommand(line: "x", headers: ["a:b": "v"]) },
        InjectionCase("empty command line") { _ in try EventSocketCommand(line: "") },
        InjectionCase("uuid with a space") { _ in try .hangup(uuid: "u 1") },
    ])
    func malformedPartsAreRejected(_ injection: InjectionCase) {
        let error = #expect(throws: EventSocketError.self) { try injection.build("x") }
        #expect(error?.code == .invalidCommand)
    }
}

/// One place a caller's value goes into a command.
struct InjectionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let build: @Sendable (String) throws -> EventSocketCommand

    init(_ name: String, build: @escaping @Sendable (String) throws -> EventSocketCommand) {
        self.name = name
        self.build = build
    }

    var testDescription: String { name }

    static let all: [InjectionCase] = [
        InjectionCase("auth password") { try .auth(password: $0) },
        InjectionCase("userauth user") { try .userAuth(user: $0, domain: "d", password: "p") },
        InjectionCase("userauth domain") { try .userAuth(user: "u", domain: $0, password: "p") },
        InjectionCase("userauth password") { try .userAuth(user: "u", domain: "d", password: $0) },
        InjectionCase("event name") { try .event(.plain, names: ["HEARTBEAT", $0]) },
        InjectionCase("event subclass") { try .event(.plain, names: ["CUSTOM"], customSubclasses: [$0]) },
        InjectionCase("nixevent name") { try .nixEvent(names: [$0]) },
        InjectionCase("myevents uuid") { try .myEvents(uuid: $0) },
        InjectionCase("filter header") { try .filter(header: $0, value: "v") },
        InjectionCase("filter value") { try .filter(header: "h", value: $0) },
        InjectionCase("filter delete header") { try .filterDelete(header: $0) },
        InjectionCase("filter delete value") { try .filterDelete(header: "h", value: $0) },
        InjectionCase("sendevent name") { try .sendEvent($0, headers: [:]) },
        InjectionCase("sendevent header name") { try .sendEvent("CUSTOM", headers: [$0: "v"]) },
        InjectionCase("sendevent header value") { try .sendEvent("CUSTOM", headers: ["X-Note": $0]) },
        InjectionCase("log level") { try .log(level: $0) },
        InjectionCase("getvar name") { try .getVar($0) },
        InjectionCase("api command") { try .api($0) },
        InjectionCase("api arguments") { try .api("status", arguments: $0) },
        InjectionCase("bgapi command") { try .backgroundAPI($0, jobUUID: "j") },
        InjectionCase("bgapi arguments") { try .backgroundAPI("status", arguments: $0, jobUUID: "j") },
        InjectionCase("bgapi Job-UUID") { try .backgroundAPI("status", jobUUID: $0) },
        InjectionCase("execute application") { try .execute(ApplicationExecution($0)) },
        InjectionCase("execute Event-UUID") { try .execute(ApplicationExecution("answer", eventUUID: $0)) },
        InjectionCase("execute uuid") { try .execute(ApplicationExecution("answer"), uuid: $0) },
        InjectionCase("hangup cause") { try .hangup(cause: $0) },
        InjectionCase("hangup uuid") { try .hangup(uuid: $0) },
        InjectionCase("sendmsg uuid") { try .sendMessage(uuid: $0, headers: ["call-command": "nomedia"]) },
        InjectionCase("sendmsg header value") { try .sendMessage(headers: ["call-command": $0]) },
        InjectionCase("command line") { try EventSocketCommand(line: "api \($0)") },
        InjectionCase("header name") { try EventSocketCommand(line: "x", headers: [$0: "v"]) },
        InjectionCase("header value") { try EventSocketCommand(line: "x", headers: ["X": $0]) },
    ]
}

@Suite struct UUIDStringTests {
    @Test func randomUUIDsAreVersion4InFreeSWITCHsTextForm() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let uuid = UUIDString.random()
            let groups = uuid.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(uuid)")
            #expect(uuid.allSatisfy { $0 == "-" || $0.isHexDigit && !$0.isUppercase }, "\(uuid)")
            #expect(groups[2].first == "4", "version of \(uuid)")
            #expect(["8", "9", "a", "b"].contains(groups[3].first), "variant of \(uuid)")
            seen.insert(uuid)
        }
        #expect(seen.count == 1000)
    }
}
