import EventSocket
import NIOCore
import Testing

/// Replies, channel data, disconnect notices and log lines as FreeSWITCH really sent them.
@Suite
struct ReplyCaptureTests {
    // MARK: - ChannelData

    static let outboundCaptures = Fixtures.eslCaptureNames.filter { $0.hasPrefix("outbound-") }

    @Test(arguments: outboundCaptures)
    func theConnectReplyCarriesDecodedChannelData(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        let channel = try capture.channelData()
        let event = channel.event
        #expect(event.name == "CHANNEL_DATA")
        #expect(event["Content-Type"] == "command/reply")
        #expect(event["Reply-Text"] == "+OK\n")  // sent as %2BOK%0A
        #expect(event.headers.count > 100)
        #expect(channel.uniqueID.count == 36)
        #expect(event["Unique-ID"] == channel.uniqueID)
        #expect(event["Channel-Unique-ID"] == channel.uniqueID)
        #expect(event.variable("uuid") == channel.uniqueID)

        // Sent as Outbound%20Call, with every other value URL-encoded the same way.
        #expect(event["Caller-Callee-ID-Name"] == "Outbound Call")
        #expect(event["Event-Date-GMT"]?.hasSuffix(" GMT") == true)
        #expect(event["Event-Date-GMT"]?.contains("%") == false)
        let destination = try #require(event["Caller-Destination-Number"])
        let port = try #require(destination.split(separator: "_").last.map(String.init))
        #expect(destination == (name == "outbound-sync" ? "outbound_sync_\(port)" : "outbound_\(port)"))
        #expect(event["Channel-Name"] == "loopback/\(destination)-b")
        #expect(event.values(for: "variable_DP_MATCH") == [destination, port])  // ARRAY%3A%3A…%7C%3A…
        #expect(event.variable("other_loopback_leg_uuid") == event.variable("origination_uuid"))

        // The socket application's mode and its arguments.
        let sync = name == "outbound-sync"
        #expect(channel.socketMode.isAsync == !sync)
        #expect(channel.socketMode.isFullControl == !sync)
        #expect(channel.socketMode.isAsyncFull == !sync)
        #expect(event["Socket-Mode"] == (sync ? "static" : "async"))
        #expect(event["Control"] == (sync ? "single-channel" : "full"))
        #expect(event.variable("current_application_data") == "127.0.0.1:\(port)" + (sync ? "" : " async full"))

        // Every event on the socket (myevents) is about this channel, except the other clients' BACKGROUND_JOBs.
        for other in try capture.events() where other.name != "BACKGROUND_JOB" {
            #expect(other.uniqueID == channel.uniqueID, "\(other.name)")
        }
    }

    // MARK: - CommandReply

    @Test func aWrongPasswordIsRefused() throws {
        let frames = try Fixtures.capture("inbound-auth-bad").frames()
        try #require(frames.map(\.contentType) == [.authRequest, .commandReply, .disconnectNotice])
        let reply = CommandReply(frames[1])
        #expect(reply.text == "-ERR invalid")
        #expect(reply.isError)
        #expect(reply.message == "invalid")
        let command = try EventSocketCommand.auth(password: "WrongPassword")
        let error = #expect(throws: EventSocketError.self) { try reply.check(for: command) }
        #expect(error?.code == .commandFailed)
        #expect(error?.message.contains("-ERR invalid") == true)
        #expect(error?.message.contains("WrongPassword") == false)
    }

    @Test func apiResponsesAndBackgroundJobReplies() throws {
        let capture = try Fixtures.capture("inbound-api-bgapi")
        let responses = try capture.frames(.apiResponse).map(CommandReply.init)
        try #require(responses.count == 4)
        #expect(!responses[0].isError)
        #expect(responses[0].text.hasPrefix("UP 0 years, "))
        #expect(responses[1].text == "\n0 total.\n")
        #expect(!responses[1].isError)
        #expect(responses[2].text == "-ERR no_such_command Command not found!\n")
        #expect(responses[2].isError)
        #expect(responses[2].message == "no_such_command Command not found!")
        #expect(responses[3].text == "-ERR No such channel!\n")
        #expect(responses[3].isError)
        let error = #expect(throws: EventSocketError.self) { try responses[2].check(for: try .api("no_such_command")) }
        #expect(error?.code == .commandFailed)
        #expect(throws: Never.self) { try responses[0].check(for: try .api("status")) }

        let replies = try capture.frames(.commandReply).map(CommandReply.init)
        #expect(replies.map(\.text).prefix(2) == ["+OK accepted", "+OK event listener enabled plain"])
        let jobs = replies.compactMap(\.jobUUID)
        #expect(jobs.prefix(5) == (1...5).map { "7f4db0f2-1111-4a3c-9b1e-00000000000\($0)" }[...])
        #expect(jobs.count == 6)
        for reply in replies where reply.jobUUID != nil {
            #expect(!reply.isError)
            #expect(reply.message == "Job-UUID: \(reply.jobUUID ?? "")")
        }
        #expect(replies.last?.text == "+OK bye")
    }

    @Test func aDeniedAPICommandIsACommandReply() throws {
        let frames = try Fixtures.capture("inbound-userauth").frames()
        try #require(frames.count == 7)
        let accepted = CommandReply(frames[1])
        #expect(accepted.text == "+OK accepted")
        #expect(accepted.message == "accepted")
        #expect(frames[1].headers["Allowed-API"] == "status,version,uptime,show,originate,uuid_kill,uuid_getvar")
        #expect(frames[1].headers["Allowed-Events"] == "all")
        #expect(frames[1].headers["Allowed-LOG"] == "true")
        #expect(CommandReply(frames[2]).text.contains("is ready"))

        // `api global_getvar hostname` is not allowed: the answer is a command/reply, not an api/response.
        #expect(frames[3].contentType == .commandReply)
        let denied = CommandReply(frames[3])
        #expect(denied.text == "-ERR permission denied")
        #expect(denied.isError)
        let error = #expect(throws: EventSocketError.self) {
            try denied.check(for: try .api("global_getvar", arguments: "hostname"))
        }
        #expect(error?.code == .commandFailed)
        #expect(error?.message.contains("api global_getvar hostname") == true)
    }

    @Test func getvarAnswersOnAnOutboundSocket() throws {
        let capture = try Fixtures.capture("outbound-getvar-api")
        let frames = try capture.frames()
        let channelName = try #require(try capture.channelData().event["Channel-Name"])
        // An unset variable: FreeSWITCH's generic answer to an empty result.
        let missing = CommandReply(frames[1])
        #expect(missing.text == "-ERR command not found")
        #expect(missing.isError)
        // A set one: the bare value, no +OK.
        let set = CommandReply(frames[2])
        #expect(set.text == channelName)
        #expect(!set.isError)
        #expect(set.message == channelName)
        // The same through api uuid_getvar.
        let responses = try capture.frames(.apiResponse).map(CommandReply.init)
        #expect(responses.first?.text == channelName)
        #expect(responses.first?.isError == false)
        let jobs = try capture.frames(.commandReply).compactMap { CommandReply($0).jobUUID }
        #expect(jobs == ["e0000000-0000-4000-8000-00000000e001", "e0000000-0000-4000-8000-00000000e002"])
    }

    @Test func lingerIsRefusedOnASyncSocket() throws {
        let replies = try Fixtures.capture("outbound-sync").frames(.commandReply).map(CommandReply.init)
        try #require(replies.count == 7)
        #expect(replies[1].text == "+OK Events Enabled")
        #expect(replies[2].text == "-ERR command not found")  // linger
        #expect(replies[2].isError)
        #expect(replies[2].message == "command not found")
        #expect(replies.dropFirst(3).allSatisfy { $0.text == "+OK" && !$0.isError })
    }

    @Test func lingerIsAcceptedOnAnAsyncFullSocket() throws {
        let replies = try Fixtures.capture("outbound-async-full").frames(.commandReply).map(CommandReply.init)
        #expect(
            replies.map(\.text).dropFirst() == ["+OK Events Enabled", "+OK will linger", "+OK", "+OK", "+OK", "+OK"]
        )
    }

    // MARK: - DisconnectNotice

    @Test(arguments: Fixtures.eslCaptureNames)
    func theDisconnectNoticeSaysLingerOrDisconnect(_ name: String) throws {
        let capture = try Fixtures.capture(name)
        let frames = try capture.frames()
        let notices = frames.filter { $0.contentType == .disconnectNotice }.map(DisconnectNotice.init)
        // These calls end with the listener's `exit` after the linger notice: FreeSWITCH then says goodbye too.
        let exitsAfterLinger = name.hasPrefix("outbound-bridge-") || name == "outbound-hangup-command"
        try #require(notices.count == (exitsAfterLinger ? 2 : 1))
        let notice = notices[0]
        let lingers =
            exitsAfterLinger || ["outbound-async-full", "outbound-caller-hangup", "outbound-dtmf"].contains(name)
        if exitsAfterLinger {
            let goodbye = notices[1]
            #expect(!goodbye.isLinger)
            #expect(goodbye.frame.headers["Content-Disposition"] == "disconnect")
            #expect(goodbye.controlledSessionUUID == notice.controlledSessionUUID)
            #expect(frames.last == goodbye.frame)
        }
        #expect(notice.isLinger == lingers)
        if lingers {
            #expect(notice.frame.headers["Linger-Time"] == "-1")
            #expect(notice.frame.body == nil)
        } else {
            #expect(notice.frame.bodyText == "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n")
            // The socket closes: the notice is the last thing FreeSWITCH sent.
            #expect(frames.last == notice.frame)
        }
        if name.hasPrefix("outbound-") {
            #expect(notice.controlledSessionUUID == (try capture.channelData().uniqueID))
        } else if name == "inbound-filters" {
            // `myevents <uuid>` tied the inbound socket to that channel.
            #expect(notice.frame.headers["Content-Disposition"] == "disconnect")
            #expect(notice.controlledSessionUUID?.count == 36)
        } else {
            #expect(notice.controlledSessionUUID == nil)
        }
    }

    // MARK: - LogLine

    @Test func logLinesCarryTheirSource() throws {
        let capture = try Fixtures.capture("inbound-log")
        let lines = try capture.frames(.logData).map(LogLine.init)
        try #require(lines.count == 11)
        #expect(lines.map(\.level) == [5, 5, 5, 5, 6, 6, 5, 5, 6, 6, 6])

        let first = lines[0]
        #expect(first.file == "mod_commands.c")
        #expect(first.function == "log_function")
        #expect(first.line == 7200)
        #expect(first.channelUUID == nil)  // "User-Data: " with nothing after it
        #expect(first.text.hasSuffix("[NOTICE] mod_commands.c:7200 fixture log line from fs_cli"))

        for line in lines {
            let file = try #require(line.file)
            let number = try #require(line.line)
            #expect(file.hasSuffix(".c"))
            #expect(line.function?.isEmpty == false)
            #expect(!line.text.hasSuffix("\n"))
            if !line.text.hasPrefix("EXECUTE ") {
                #expect(line.text.contains(" \(file):\(number) "), "\(line.text)")
            }
        }
        // The originated call's own line names it in User-Data.
        let response = try #require(try capture.frames(.apiResponse).first).bodyText
        let uuid = String(response.dropFirst("+OK ".count).prefix(36))
        #expect(lines.contains { $0.channelUUID == uuid && $0.file == "mod_loopback.c" })
    }
}

/// Replies and channel data built by hand: the edge cases the captures do not show.
@Suite struct ReplyTests {
    private static func reply(_ text: String?, type: ContentType = .commandReply, body: String? = nil) -> CommandReply {
        var headers: EventSocketHeaders = ["Content-Type": type.rawValue]
        if let text { headers.append(name: "Reply-Text", value: text) }
        return CommandReply(EventSocketFrame(headers: headers, body: body.map { ByteBuffer(string: $0) }))
    }

    @Test func replyTextAndMessages() {
        #expect(Self.reply("+OK").message == "")
        #expect(!Self.reply("+OK").isError)
        #expect(Self.reply("-USAGE: uuid_kill <uuid>").isError)
        #expect(Self.reply("-ERR  spaced\n").message == "spaced")
        #expect(Self.reply("-ERR crlf\r\n\r\n").message == "crlf")
        #expect(Self.reply(nil).text == "")
        #expect(!Self.reply(nil).isError)
        #expect(Self.reply(nil).jobUUID == nil)
    }

    @Test func anAPIBodyIsAnErrorOnlyWhenItStartsWithERR() {
        #expect(!Self.reply(nil, type: .apiResponse, body: "line one\n-ERR later on\n").isError)
        #expect(Self.reply(nil, type: .apiResponse, body: "-ERR first\n").isError)
        // An api/response is read from its body, never from a Reply-Text header.
        #expect(Self.reply("-ERR header", type: .apiResponse, body: "+OK body").text == "+OK body")
        #expect(Self.reply(nil, type: .apiResponse).text == "")
    }

    @Test func channelDataRefusesWhatIsNotAConnectReply() {
        let notAReply = EventSocketFrame(headers: ["Content-Type": "api/response", "Unique-ID": "u"])
        let wrongType = #expect(throws: EventSocketError.self) { try ChannelData(connectReply: notAReply) }
        #expect(wrongType?.code == .unexpectedReply)

        let failed = EventSocketFrame(headers: ["Content-Type": "command/reply", "Reply-Text": "-ERR%20no%20session"])
        let refused = #expect(throws: EventSocketError.self) { try ChannelData(connectReply: failed) }
        #expect(refused?.code == .commandFailed)
        #expect(refused?.message.contains("-ERR no session") == true)

        let inbound = EventSocketFrame(headers: ["Content-Type": "command/reply", "Reply-Text": "+OK"])
        let noChannel = #expect(throws: EventSocketError.self) { try ChannelData(connectReply: inbound) }
        #expect(noChannel?.code == .unexpectedReply)
    }

    @Test func channelDataDecodesOnceAndFallsBackToChannelUniqueID() throws {
        let frame = EventSocketFrame(headers: [
            "Content-Type": "command/reply", "Reply-Text": "%2BOK%0A", "Channel-Unique-ID": "c-1",
            "variable_x": "100%2525", "variable_y": "_undef_", "variable_z": "a%0AInjected: yes",
        ])
        // Built in code, and read from the wire (where the header block is kept raw and decoded on reading).
        var wire = ByteBuffer()
        for (name, value) in frame.headers { wire.writeString("\(name): \(value)\n") }
        wire.writeString("\n")
        var decoder = EventSocketFrameDecoder()
        let decoded = try #require(try decoder.decode(buffer: &wire))
        for channel in [try ChannelData(connectReply: frame), try ChannelData(connectReply: decoded)] {
            Self.expectDecodedOnce(channel)
        }
    }

    private static func expectDecodedOnce(_ channel: ChannelData) {
        #expect(channel.uniqueID == "c-1")
        #expect(channel.event.variable("x") == "100%25")
        #expect(channel.event.variable("y") == "")
        #expect(channel.event.variable("z") == "a\nInjected: yes")
        #expect(channel.event["Injected"] == nil)
        #expect(!channel.socketMode.isAsync)
        #expect(!channel.socketMode.isFullControl)
        #expect(!channel.socketMode.isAsyncFull)
    }

    @Test func disconnectNoticesAndLogLinesByHand() {
        let linger = DisconnectNotice(
            EventSocketFrame(headers: ["Content-Type": "text/disconnect-notice", "Content-Disposition": "linger"])
        )
        #expect(linger.isLinger)
        #expect(linger.controlledSessionUUID == nil)
        let plain = DisconnectNotice(EventSocketFrame(headers: ["Content-Type": "text/disconnect-notice"]))
        #expect(!plain.isLinger)

        let log = LogLine(
            EventSocketFrame(
                headers: ["Content-Type": "log/data", "Log-Level": "x", "User-Data": "u-1"],
                body: ByteBuffer(string: "text\r\n\n")
            )
        )
        #expect(log.level == nil)
        #expect(log.line == nil)
        #expect(log.channelUUID == "u-1")
        #expect(log.text == "text")
    }
}
