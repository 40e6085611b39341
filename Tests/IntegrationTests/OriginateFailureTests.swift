import EventSocket
import Switchboard
import SwitchboardTesting
import Testing

/// A failed `originate` throws ``OriginateError`` carrying the call's UUID and FreeSWITCH's hangup cause.
@Suite(
    .enabled(if: FreeSWITCHAvailability.isUp, FreeSWITCHAvailability.skipReason),
    .timeLimit(.minutes(1))
)
struct OriginateFailureTests {
    @Test func anOriginateWithNoRouteThrowsItsUUIDAndHangupCause() async throws {
        let tag = Integration.uniqueTag()
        let uuid = Integration.newUUID()
        var call = Originate(TestSwitch.current.destination("sbtest_no_such_extension"), then: .application("park"))
            .variable("origination_uuid", uuid)
            .variable(Integration.tagVariable, tag)
        call.timeout = .seconds(10)
        do {
            try await Integration.withCommandSocket { socket in
                await #expect {
                    try await socket.connection.originate(call)
                } throws: { error in
                    let failure = error as? OriginateError
                    return failure?.uuid == uuid && failure?.hangupCause == "NO_ROUTE_DESTINATION"
                        && failure?.message == "-ERR NO_ROUTE_DESTINATION"
                }
                // A UUID chosen by Switchboard is reported too.
                var unnamed = Originate(
                    TestSwitch.current.destination("sbtest_no_such_extension"),
                    then: .application("park")
                )
                .variable(Integration.tagVariable, tag)
                unnamed.timeout = .seconds(10)
                await #expect {
                    try await socket.connection.originate(unnamed)
                } throws: { error in
                    let failure = error as? OriginateError
                    return failure?.uuid.count == 36 && failure?.hangupCause == "NO_ROUTE_DESTINATION"
                }
            }
            await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
        } catch {
            await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
            throw error
        }
    }
}
