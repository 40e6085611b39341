import EventSocket
import Switchboard
import SwitchboardTesting
import Testing

/// Channel variables whose values hold FreeSWITCH's separators and quotes reach the new channel unchanged, through
/// `originate` and through `bridge`, read back with `uuid_getvar`.
@Suite(
    .enabled(if: FreeSWITCHAvailability.isUp, FreeSWITCHAvailability.skipReason),
    .timeLimit(.minutes(1))
)
struct ChannelVariableTests {
    /// Values with commas, spaces, quotes, `=`, braces, brackets, backslashes and non-ASCII text.
    static let samples: [String: String] = [
        "sbtest_comma": "a,b",
        "sbtest_codecs": "PCMU,PCMA,G722",
        "sbtest_space": "two words",
        "sbtest_edges": " leading and trailing ",
        "sbtest_single_quote": "it's",
        "sbtest_quotes": "'quoted' and \"double\"",
        "sbtest_equals": "k=v;x=y",
        "sbtest_braces": "{braced}",
        "sbtest_brackets": "[bracketed] and ]odd[",
        "sbtest_backslash": "back\\slash \\s\\n\\t\\\\",
        "sbtest_pipe": "a|b",
        "sbtest_unicode": "Zürich, 日本 — €5",
        "sbtest_everything": ",'\"={}[] é\\ ^^:x:y",
    ]

    @Test func originateSetsEveryValueUnchanged() async throws {
        let tag = Integration.uniqueTag()
        let uuid = Integration.newUUID()
        var call = Originate(TestSwitch.current.destination("echo"), then: .application("park"))
            .variable("origination_uuid", uuid)
            .variable(Integration.tagVariable, tag)
        for (name, value) in Self.samples { call = call.variable(name, value) }
        call.timeout = .seconds(10)
        do {
            let readBack = try await Integration.withCommandSocket { socket in
                _ = try await socket.connection.originate(call)
                return try await Self.readVariables(on: uuid, socket: socket)
            }
            await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
            Self.expectUnchanged(readBack)
        } catch {
            await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
            throw error
        }
    }

    @Test func originateCallerIDAndTimeoutReachTheirPositions() async throws {
        let tag = Integration.uniqueTag()
        let uuid = Integration.newUUID()
        var call = Originate(TestSwitch.current.destination("echo"), then: .application("park"))
            .variable("origination_uuid", uuid)
            .variable(Integration.tagVariable, tag)
        call.callerIDName = "O'Brien & Co"
        call.callerIDNumber = "15550001234"
        call.timeout = .seconds(10)
        do {
            let channel = try await Integration.withCommandSocket { socket in
                _ = try await socket.connection.originate(call)
                return try await socket.connection.dump(uuid)
            }
            await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
            // Before the positions were filled, the name landed in the dialplan's place and the number in the context's:
            // FreeSWITCH kept neither. (The loopback leg's own caller ID changes when its dialplan transfers it.)
            #expect(channel.variable("origination_caller_id_name") == "O'Brien & Co")
            #expect(channel.variable("origination_caller_id_number") == "15550001234")
            #expect(channel["Caller-Orig-Caller-ID-Number"] == "15550001234")
            #expect(channel.direction == .outbound)
            #expect(channel.answerState == .answered)
        } catch {
            await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
            throw error
        }
    }

    @Test func bridgeSetsEveryValueUnchangedOnTheNewLeg() async throws {
        let bridged = Integration.newUUID()
        let handler = ScriptedHandler { session, steps in
            try await session.answer()
            let tag = session.variable(Integration.tagVariable) ?? "?"
            var variables = Self.samples
            variables["origination_uuid"] = bridged
            variables[Integration.tagVariable] = tag
            do {
                await steps.record(
                    .completed(try await session.bridge(TestSwitch.current.destination("echo"), variables: variables))
                )
            } catch {
                await steps.record(.threw(application: "bridge", error: error))
            }
        }
        let readBack = Recorder<[String: String?]>()
        _ = try await OutboundTests().runCall(extension: "outbound", handler: handler) { legA in
            try await Integration.withCommandSocket { socket in
                try await Integration.eventually(timeout: .seconds(10), "the bridged leg \(bridged) to exist") {
                    let exists = try? await socket.api("uuid_exists", bridged)
                    return exists == "true"
                }
                await readBack.record(try await Self.readVariables(on: bridged, socket: socket))
                _ = try? await socket.api("uuid_kill", bridged)
            }
            try await handler.waitUntilFinished()
        }
        let values = try #require(await readBack.values.first)
        Self.expectUnchanged(values)
    }

    static func readVariables(on uuid: String, socket: CommandSocket) async throws -> [String: String?] {
        var values: [String: String?] = [:]
        for name in samples.keys { values[name] = try await socket.connection.variable(name, on: uuid) }
        return values
    }

    static func expectUnchanged(_ readBack: [String: String?]) {
        for (name, value) in samples.sorted(by: { $0.key < $1.key }) {
            let got = readBack[name] ?? nil
            #expect(got == value, "\(name): sent \(value.debugDescription), read back \(got.debugDescription)")
        }
    }
}
