import EventSocket
import Switchboard
import SwitchboardTesting
import Testing

/// ``Switchboard/CommandSocket``'s one-call connect against the real FreeSWITCH: the script's way in.
@Suite(
    .enabled(if: FreeSWITCHAvailability.isUp, FreeSWITCHAvailability.skipReason),
    .timeLimit(.minutes(1))
)
struct ScriptConnectionTests {
    @Test func rightPasswordSubscribesAndReceivesItsCallsEvents() async throws {
        let testSwitch = TestSwitch.current
        let tag = Integration.uniqueTag()
        let uuid = Integration.newUUID()
        let socket = try await CommandSocket.connect(
            host: testSwitch.host,
            port: testSwitch.port,
            authentication: testSwitch.authentication,
            events: ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"],
            filters: [.init(header: "variable_\(Integration.tagVariable)", value: tag)],
            logger: Integration.logger
        )
        do {
            let output = try await socket.backgroundAPI(
                "originate",
                Integration.callVariables(uuid: uuid, tag: tag) + testSwitch.destination("tone") + " &park()",
                timeout: .seconds(20)
            )
            #expect(output == "+OK \(uuid)\n")
            var names: [String] = []
            for await event in socket.events where event.uniqueID == uuid {
                names.append(event.name)
                if event.name == "CHANNEL_HANGUP_COMPLETE" { break }
            }
            #expect(names == ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"])
        } catch {
            await socket.close()
            await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
            throw error
        }
        await socket.close()
        await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
    }

    @Test func wrongPasswordFailsAtOnceWithFreeSWITCHsReply() async throws {
        let testSwitch = TestSwitch.current
        // FreeSWITCH's reply in the error shows that the reply ended the attempt, not a timeout. (The simulated
        // switch's test of the same case also counts the attempts: one.)
        let error = await #expect(throws: SwitchboardError.self) {
            _ = try await CommandSocket.connect(
                host: testSwitch.host,
                port: testSwitch.port,
                authentication: .password("wrong-\(Integration.uniqueTag())"),
                events: ["ALL"],
                logger: Integration.logger
            )
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message == "FreeSWITCH at \(testSwitch.address) refused the password: -ERR invalid")
    }

    @Test(
        .enabled(
            if: TestSwitch.current.userAuthentication != nil,
            "\(TestSwitch.userVariable) is empty: no directory user to log in as"
        )
    )
    func wrongUserPasswordNamesTheUser() async throws {
        let testSwitch = TestSwitch.current
        guard case .user(let name, let domain, _) = try #require(testSwitch.userAuthentication) else { return }
        let error = await #expect(throws: SwitchboardError.self) {
            _ = try await CommandSocket.connect(
                host: testSwitch.host,
                port: testSwitch.port,
                authentication: .user(name, domain: domain, password: "wrong"),
                logger: Integration.logger
            )
        }
        #expect(
            error?.message
                == "FreeSWITCH at \(testSwitch.address) refused the login for user \(name)@\(domain): -ERR invalid"
        )
    }
}
