import EventSocket
import NIOCore
import TestSupport
import Testing

/// Events from the real captures: every event frame parses, and chosen values read back exactly.
@Suite(.cpuBound)
struct EventCaptureTests {
    @Test(arguments: Fixtures.eslCaptureNames)
    func everyEventFrameParses(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        let frames = try capture.frames().filter(\.contentType.isEvent)
        let eventNameCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
        var coreUUIDs: Set<String> = []
        var formats: [String: Int] = [:]
        for (index, frame) in frames.enumerated() {
            let event = try EventSocketEvent(frame: frame)
            formats["text/event-" + event.format.rawValue, default: 0] += 1
            #expect(!event.name.isEmpty && event.name.allSatisfy(eventNameCharacters.contains), "event \(index)")
            #expect(event.headers["Event-Name"] == event.name, "event \(index)")
            #expect(event.headers.count >= 10, "event \(index): \(event.headers.count) headers")
            // The values FreeSWITCH sends encoded (plain, XML) or raw (JSON) read the same once decoded.
            #expect(event["FreeSWITCH-Hostname"] == "vm", "event \(index)")
            // The capture's address substitution: "%3A%3A0%3A1" where URL-encoded, "::0:0:1" in JSON.
            #expect(event["FreeSWITCH-IPv6"] == (event.format == .json ? "::0:0:1" : "::0:1"), "event \(index)")
            let date = try #require(event["Event-Date-GMT"], "event \(index)")
            #expect(date.hasSuffix(" GMT") && !date.contains("%"), "event \(index): '\(date)'")
            coreUUIDs.insert(try #require(event["Core-UUID"]))
            // A body is exactly as long as the event's own (last) Content-Length says.
            if let length = event.headers.values(for: "Content-Length").last.flatMap({ Int($0) }) {
                #expect(event.body?.utf8.count == length, "event \(index) (\(event.name))")
            } else {
                #expect(event.body == nil, "event \(index) (\(event.name))")
            }
            if event.format == .plain {
                #expect(event.headers.count == Self.plainHeaderLineCount(frame), "event \(index)")
            }
        }
        #expect(formats == capture.expectedFrames.filter { $0.key.hasPrefix("text/event-") })
        #expect(coreUUIDs.count <= 1, "one switch, one Core-UUID")
    }

    /// FreeSWITCH writes `Event-Name` first in the plain events it makes itself (those fired with `sendevent` start
    /// with the sender's headers), so a connection can tell the events it must parse (completions) from those it may
    /// pass on by that line alone, and parses the others.
    @Test(arguments: Fixtures.eslCaptureNames)
    func plainEventsNameThemselvesOnTheirFirstLine(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        for (index, frame) in try capture.frames().enumerated() where frame.contentType == .eventPlain {
            let event = try EventSocketEvent(frame: frame)
            let fired = event["Command"]?.hasPrefix("sendevent") == true
            for (known, isIt) in [
                (frame.leadingEventName(is: "CHANNEL_EXECUTE_COMPLETE"), event.name == "CHANNEL_EXECUTE_COMPLETE"),
                (frame.leadingEventName(is: "BACKGROUND_JOB"), event.name == "BACKGROUND_JOB"),
                (frame.leadingEventName(is: "CHANNEL_DATA"), event.name == "CHANNEL_DATA"),
            ] {
                #expect(known == (fired ? nil : isIt), "frame \(index) (\(event.name))")
            }
        }
    }

    /// The `Name: value` lines of an event-plain body's header block, counted without the library.
    private static func plainHeaderLineCount(_ frame: EventSocketFrame) -> Int {
        let bytes = frame.body?.bytes ?? []
        let end = bytes.indices.dropLast().first { bytes[$0] == 0x0A && bytes[$0 + 1] == 0x0A } ?? bytes.count
        return bytes[..<end].split(separator: 0x0A).count
    }

    /// The call each inbound event capture originated goes through the same lifecycle in all three formats.
    @Test(arguments: [
        ("inbound-auth-ok-events-plain", EventSocketEvent.Format.plain),
        ("inbound-events-json", .json),
        ("inbound-events-xml", .xml),
    ])
    func theOriginatedCallReadsTheSameInEveryFormat(_ name: String, _ format: EventSocketEvent.Format) throws {
        let capture = try Fixtures.capture(name)
        let uuid = try Self.originationUUID(capture)
        let events = try capture.events()
        #expect(events.allSatisfy { $0.format == format })
        let call = events.filter { $0.uniqueID == uuid }
        #expect(
            call.map(\.name) == [
                "CHANNEL_UUID", "CHANNEL_OUTGOING", "CHANNEL_STATE", "CHANNEL_CREATE", "CHANNEL_ORIGINATE",
                "CHANNEL_STATE", "CHANNEL_STATE", "CHANNEL_ANSWER", "CHANNEL_CALLSTATE", "CALL_UPDATE",
                "CHANNEL_STATE", "CHANNEL_EXECUTE", "CHANNEL_PARK", "CHANNEL_HANGUP", "CHANNEL_UNPARK",
                "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_STATE", "CHANNEL_CALLSTATE", "CHANNEL_STATE",
                "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY", "CHANNEL_STATE",
            ]
        )
        let execute = try #require(call.first { $0.name == "CHANNEL_EXECUTE" })
        #expect(execute["Application"] == "park")
        #expect(execute["Channel-Name"] == "loopback/tone-a")
        let complete = try #require(call.first { $0.name == "CHANNEL_HANGUP_COMPLETE" })
        #expect(complete["Hangup-Cause"] == "NORMAL_CLEARING")
        #expect(complete["Answer-State"] == "hangup")
        #expect(complete["Caller-Caller-ID-Name"] == "Outbound Call")
        #expect(complete["Caller-Destination-Number"] == "tone")
        #expect(complete.variable("origination_uuid") == uuid)
    }

    /// `api originate {origination_uuid=…}…` answers `+OK <uuid>`.
    private static func originationUUID(_ capture: ESLCapture) throws -> String {
        let response = try #require(try capture.frames(.apiResponse).first).bodyText
        #expect(response.hasPrefix("+OK ") && response.hasSuffix("\n"))
        let uuid = String(response.dropFirst(4).dropLast())
        #expect(uuid.count == 36)
        return uuid
    }

    @Test func backgroundJobBodiesMatchTheirJobUUIDs() throws {
        let events = try Fixtures.capture("inbound-api-bgapi").events()
        #expect(events.allSatisfy { $0.name == "BACKGROUND_JOB" && $0.format == .plain })
        let chosen = (1...5).map { "7f4db0f2-1111-4a3c-9b1e-00000000000\($0)" }
        try #require(events.count == 6)
        // Completion order: status, then version, the error, msleep 500, msleep 1500, and the unnamed job.
        #expect(events.prefix(5).map(\.jobUUID) == [chosen[0], chosen[3], chosen[4], chosen[2], chosen[1]])
        let jobs = Dictionary(events.map { ($0.jobUUID ?? "", $0) }, uniquingKeysWith: { first, _ in first })

        let status = try #require(jobs[chosen[0]])
        #expect(status["Job-Command"] == "status")
        #expect(status["Job-Command-Arg"] == nil)
        #expect(status.body?.hasPrefix("UP 0 years, 0 days, 0 hours, 2 minutes, ") == true)
        #expect(status.body?.contains("\nFreeSWITCH (Version 1.10.12-release  64bit) is ready\n") == true)
        #expect(status.body?.utf8.count == 345)

        for (uuid, argument) in [(chosen[1], "1500"), (chosen[2], "500")] {
            let sleep = try #require(jobs[uuid])
            #expect(sleep["Job-Command"] == "msleep")
            #expect(sleep["Job-Command-Arg"] == argument)
            #expect(sleep.body == "+OK")
        }
        #expect(jobs[chosen[3]]?.body == "FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n")
        let failed = try #require(jobs[chosen[4]])
        #expect(failed["Job-Command"] == "no_such_command")
        #expect(failed.body == "-ERR no_such_command Command not found!\n")

        // The job sent without a Job-UUID: the server chose one and returned it in the reply.
        let replies = try Fixtures.capture("inbound-api-bgapi").frames(.commandReply).map(CommandReply.init)
        let generated = try #require(replies.compactMap(\.jobUUID).last)
        #expect(!chosen.contains(generated))
        #expect(events[5].jobUUID == generated)
        #expect(events[5]["Job-Command"] == "status")
    }

    @Test func aSentCustomEventComesBackWithItsMultiLineBody() throws {
        let events = try Fixtures.capture("inbound-sendevent-custom").events()
        try #require(events.map(\.format) == [.plain, .plain, .json])
        // The body as sent: 62 bytes, with a colon, a blank line and a final newline (see the README).
        let body = "line one of the body\nline two: with colon\n\nafter a blank line\n"
        #expect(body.utf8.count == 62)

        let withBody = events[0]
        #expect(withBody.name == "CUSTOM")
        #expect(withBody.subclass == "fixture::test")  // sent as fixture%3A%3Atest
        #expect(withBody["Command"] == "sendevent CUSTOM")
        #expect(withBody["X-Fixture"] == "with-body")
        #expect(withBody["Event-Date-GMT"]?.hasPrefix("Mon, 23 Nov 2026 ") == true)
        #expect(withBody.headers.values(for: "Content-Length") == ["62", "62"])
        #expect(withBody.body == body)

        let withoutBody = events[1]
        #expect(withoutBody.subclass == "fixture::test")
        #expect(withoutBody["X-Fixture"] == "no-body")
        #expect(withoutBody.body == nil)

        let json = events[2]
        #expect(json.name == "CUSTOM")
        #expect(json.subclass == "fixture::test")
        #expect(json["X-Fixture"] == "with-body-json")
        #expect(json.body == body)
        #expect(json["_body"] == nil)
    }

    @Test func jsonBackgroundJobsCarryTheirBodyInUnderscoreBody() throws {
        let jobs = try Fixtures.capture("inbound-events-json").events().filter { $0.name == "BACKGROUND_JOB" }
        try #require(!jobs.isEmpty)
        for job in jobs {
            #expect(job.format == .json)
            let uuid = try Self.originationUUID(inJobArgument: job)
            #expect(job.body == "+OK \(uuid)\n")
            #expect(job["Content-Length"] == "41")
            #expect(job["_body"] == nil)
        }
    }

    @Test func xmlBackgroundJobsAreDecodedAndCutAtContentLength() throws {
        let capture = try Fixtures.capture("inbound-events-xml")
        let jobs = try capture.events().filter { $0.name == "BACKGROUND_JOB" }
        try #require(!jobs.isEmpty)
        for job in jobs {
            #expect(job.format == .xml)
            // Job-Command-Arg arrives as %7Borigination_uuid%3D…%20%26park()
            #expect(job["Job-Command-Arg"]?.hasSuffix(" &park()") == true)
            let uuid = try Self.originationUUID(inJobArgument: job)
            // The raw <body> is "+OK <uuid>\n  " (indented closing tag); Content-Length 41 ends it.
            #expect(job.body == "+OK \(uuid)\n")
            #expect(job["Content-Length"] == "41")
        }
        let raw = try capture.frames(.eventXML).map(\.bodyText).first { $0.contains("<body>") }
        #expect(raw?.contains("\n  </body>") == true)
    }

    /// `{origination_uuid=<uuid>,…}…` in a BACKGROUND_JOB's Job-Command-Arg.
    private static func originationUUID(inJobArgument job: EventSocketEvent) throws -> String {
        let argument = try #require(job["Job-Command-Arg"])
        let start = try #require(argument.firstRange(of: "{origination_uuid="))
        return String(argument[start.upperBound...].prefix(36))
    }

    @Test func applicationUUIDsAndDataOfAnOutboundCall() throws {
        let events = try Fixtures.capture("outbound-async-full").events()
        let chosen = (1...4).map { "a0000000-0000-4000-8000-00000000a00\($0)" }
        let executions = events.filter { $0.name == "CHANNEL_EXECUTE" }
        let completions = events.filter { $0.name == "CHANNEL_EXECUTE_COMPLETE" }
        #expect(executions.map(\.applicationUUID) == chosen)
        #expect(executions.map { $0["Application"] } == ["answer", "set", "playback", "hangup"])
        #expect(completions.prefix(4).map(\.applicationUUID) == chosen)
        #expect(completions.last?["Application"] == "socket")

        let set = try #require(completions.first { $0.applicationUUID == chosen[1] })
        #expect(set["Application-Data"] == "fixture_var=hello world")
        #expect(set.variable("fixture_var") == "hello world")
        let playback = try #require(completions.first { $0.applicationUUID == chosen[2] })
        // Sent as tone_stream%3A//%25(200,100,440)%3Bloops%3D3: decoded once, the %25 is a literal "%".
        #expect(playback["Application-Data"] == "tone_stream://%(200,100,440);loops=3")
        #expect(playback["Application-Response"] == "FILE PLAYED")
        #expect(events.first { $0.name == "CHANNEL_HANGUP" }?["Hangup-Cause"] == "NORMAL_CLEARING")
    }

    @Test func dtmfDigitsAndTheCollectedVariable() throws {
        let events = try Fixtures.capture("outbound-dtmf").events()
        #expect(events.filter { $0.name == "DTMF" }.map { $0["DTMF-Digit"] } == ["1", "2", "3", "4", "#"])
        let collected = try #require(
            events.first {
                $0.name == "CHANNEL_EXECUTE_COMPLETE" && $0.applicationUUID == "c0000000-0000-4000-8000-00000000c002"
            }
        )
        #expect(collected.variable("fixture_digits") == "1234")
        // %5Cd%2B: the backslash and the plus come back as sent.
        #expect(
            collected["Application-Data"]
                == "4 5 1 8000 # tone_stream://%(100,0,600) silence_stream://250 fixture_digits \\d+"
        )
    }
}
