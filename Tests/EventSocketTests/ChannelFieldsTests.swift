import EventSocket
import TestSupport
import Testing

@Suite("Typed call identity from real captures", .cpuBound)
struct ChannelFieldsTests {
    @Test("the connect reply of an outbound socket: caller, destination, direction, context, channel, answer state")
    func connectReply() throws {
        let channel = try Fixtures.capture("outbound-async-full").channelData().event
        #expect(channel.uniqueID == "24a1881e-1d72-4b82-8363-297ed768232c")
        #expect(channel.callerIDNumber == "0000000000")
        #expect(channel.callerIDName == nil)
        #expect(channel.destinationNumber == "outbound_34473")
        #expect(channel.direction == .inbound)
        #expect(channel.context == "peertest")
        #expect(channel.channelName == "loopback/outbound_34473-b")
        #expect(channel.answerState == .ringing)
        #expect(channel.hangupCause == nil)
    }

    @Test("channel events: an answered outbound leg with a caller ID name, and a hangup with its cause")
    func channelEvents() throws {
        let events = try Fixtures.capture("inbound-auth-ok-events-plain").events()
        let answered = try #require(
            events.first { $0.uniqueID == "d2852b88-1bd7-45d3-8140-adf9d27afe0e" && $0.name == "CHANNEL_ANSWER" }
        )
        #expect(answered.callerIDName == "+15551234")
        #expect(answered.callerIDNumber == "+15551234")
        #expect(answered.destinationNumber == "tone")
        #expect(answered.direction == .outbound)
        #expect(answered.channelName == "loopback/tone-a")
        #expect(answered.answerState == .answered)

        let hangup = try #require(events.first { $0.name == "CHANNEL_HANGUP_COMPLETE" })
        #expect(hangup.uniqueID == "47623a04-ae7b-4e06-8a88-e50a91d8c342")
        #expect(hangup.hangupCause == "NORMAL_CLEARING")
        #expect(hangup.answerState == .hangup)
        #expect(hangup.direction == .inbound)
        #expect(hangup.channelName == "loopback/tone-b")

        let heartbeat = try #require(events.first { $0.name == "HEARTBEAT" })
        #expect(heartbeat.callerIDNumber == nil && heartbeat.direction == nil && heartbeat.answerState == nil)
    }

    @Test(
        "every Call-Direction and Answer-State in the captures, plain, JSON and XML, is one the types know",
        arguments: ["inbound-auth-ok-events-plain", "inbound-events-json", "inbound-events-xml"]
    )
    func everyValueIsKnown(_ name: String) throws {
        let events = try Fixtures.capture(name).events()
        let withDirection = events.filter { $0["Call-Direction"] != nil }
        let withAnswerState = events.filter { $0["Answer-State"] != nil }
        #expect(!withDirection.isEmpty && !withAnswerState.isEmpty)
        for event in withDirection { #expect(event.direction?.rawValue == event["Call-Direction"]) }
        for event in withAnswerState { #expect(event.answerState?.rawValue == event["Answer-State"]) }
    }
}
