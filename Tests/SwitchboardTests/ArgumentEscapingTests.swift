import EventSocket
import Testing

@testable import Switchboard

@Suite("Channel variables and application arguments, without a switch")
struct ArgumentEscapingTests {
    @Test("a value's comma travels as \\, (not ^^:), escaped once more for originate's split at spaces")
    func commaInOriginate() throws {
        let call = Originate("loopback/9999/default", then: .application("park"))
            .variable("codecs", "PCMU,PCMA")
            .variable("origination_uuid", "u1")
        #expect(try call.arguments == #"{codecs=PCMU\\,PCMA,origination_uuid=u1}loopback/9999/default &park()"#)
    }

    @Test("each layer FreeSWITCH unescapes gets its own escapes: originate and bridge differ")
    func layers() throws {
        let variables = ["v": "it's a=b"]
        // '=' layer: it\'s\sa\=b; ',' layer: it\\\'s\\sa\\=b.
        // Then bridge's expansion doubles each backslash; originate's split at spaces escapes each one and the quote.
        // (The same counts the probes against FreeSWITCH 1.10.12 read back unchanged.)
        #expect(try ChannelVariables(variables).prefix(for: .application) == #"{v=it\\\\\\'s\\\\sa\\\\=b}"#)
        #expect(try ChannelVariables(variables).prefix(for: .originate) == #"{v=it\\\\\\\'s\\\\sa\\\\=b}"#)
        #expect(ChannelVariables.escape("a b,c'd\\", separator: ",") == #"a\sb\,c\'d\\"#)
        #expect(try ChannelVariables([:]).prefix(for: .application) == "")
        #expect(try ChannelVariables(["u": "é{x}[y]\"|<z>"]).prefix(for: .application) == "{u=é{x}[y]\"|<z>}")
    }

    @Test(
        "what no escaping carries is refused, naming the variable",
        arguments: [
            ("a\nb", "control character"), ("x\ty", "control character"), ("${uuid}", "'${'"),
            ("a:_:b", "':_:'"), ("a}b", "braces"), ("{a", "braces"), ("}{", "braces"),
        ]
    )
    func refusedValues(value: String, reason: String) {
        #expect {
            _ = try ChannelVariables(["sb_var": value]).prefix(for: .application)
        } throws: { error in
            let error = error as? SwitchboardError
            return error?.code == .invalidArgument && error?.message.contains("'sb_var'") == true
                && error?.message.contains(reason) == true
        }
        let call = Originate("loopback/1/default", then: .application("park")).variable("sb_var", value)
        #expect(throws: SwitchboardError.self) { _ = try call.arguments }
    }

    @Test("variable names are plain words")
    func refusedNames() {
        for name in ["", "a b", "a=b", "a,b", "{x}", "é"] {
            #expect(throws: SwitchboardError.self) { _ = try ChannelVariables([name: "1"]).prefix(for: .originate) }
        }
        #expect(throws: Never.self) {
            _ = try ChannelVariables(["sip_h_X-Tag": "1", "nolocal:x.y": "2"]).prefix(for: .originate)
        }
    }

    @Test("a caller ID name keeps its quotes and backslashes inside originate's quoting, in its own position")
    func callerIDName() throws {
        var call = Originate("loopback/1/default", then: .application("park"))
        call.callerIDName = #"O'Brien \ Co"#
        call.callerIDNumber = "100"
        // originate reads dialplan and context before the caller ID, even for an application.
        #expect(try call.arguments == #"loopback/1/default &park() undef undef 'O\'Brien \\ Co' 100"#)
        call.callerIDNumber = "1 00"
        #expect(throws: SwitchboardError.self) { _ = try call.arguments }
    }

    @Test("a Duration becomes FreeSWITCH's whole timer units, rounded up; negative or too long is refused")
    func timerUnits() throws {
        #expect(try OutboundSession.timer(.seconds(5), in: .milliseconds, of: "read", "timeout") == "5000")
        #expect(try OutboundSession.timer(.microseconds(1500), in: .milliseconds, of: "read", "timeout") == "2")
        #expect(try OutboundSession.timer(.zero, in: .milliseconds, of: "sleep", "duration") == "0")
        #expect(try OutboundSession.timer(.milliseconds(2001), in: .seconds, of: "record", "limit") == "3")
        let negative = #expect(throws: SwitchboardError.self) {
            try OutboundSession.timer(.milliseconds(-1), in: .milliseconds, of: "sleep", "duration")
        }
        #expect(negative?.message == "sleep: 'duration' must not be negative, found -0.001 seconds")
        #expect(throws: SwitchboardError.self) {
            try OutboundSession.timer(.seconds(Int64.max), in: .milliseconds, of: "play_and_get_digits", "timeout")
        }
        #expect(throws: SwitchboardError.self) {
            try OutboundSession.timer(.seconds(2_147_484), in: .milliseconds, of: "play_and_get_digits", "timeout")
        }
    }

    @Test("originate's timeout is FreeSWITCH's, in whole seconds rounded up, after the positions before it")
    func originateTimeout() throws {
        var call = Originate("loopback/1/default", then: .extension("1000", context: "default"))
        call.timeout = .milliseconds(1500)
        #expect(try call.arguments == "loopback/1/default 1000 XML default undef undef 2")
        var parked = Originate("loopback/1/default", then: .application("park"))
        parked.timeout = .seconds(20)
        #expect(try parked.arguments == "loopback/1/default &park() undef undef undef undef 20")
        parked.timeout = .seconds(-1)
        #expect(throws: SwitchboardError.self) { _ = try parked.arguments }
    }

    @Test("space-separated arguments: joined when each is one word")
    func wordsJoined() throws {
        let joined = try OutboundSession.words(
            of: "play_and_get_digits",
            [("minDigits", "1"), ("prompt", "ivr/ivr-enter_ext.wav"), ("regex", #"\d+"#)]
        )
        #expect(joined == #"1 ivr/ivr-enter_ext.wav \d+"#)
    }

    @Test(
        "an argument that would not stay one argument is refused, naming the application and the argument",
        arguments: [
            ("/sounds/my prompt.wav", "holds a space"), ("", "is empty"), ("tab\there", "holds a space"),
            ("it's.wav", "holds a quote"),
        ]
    )
    func wordsRefused(value: String, problem: String) {
        #expect {
            _ = try OutboundSession.words(of: "play_and_get_digits", [("tries", "3"), ("prompt", value)])
        } throws: { error in
            let error = error as? SwitchboardError
            return error?.code == .invalidArgument
                && error?.message.hasPrefix("play_and_get_digits: argument 'prompt'") == true
                && error?.message.contains(problem) == true
        }
    }

    @Test("set, export and multiset names are one word without '='")
    func variableNames() {
        for name in ["", "a=b", "a b"] {
            #expect(throws: SwitchboardError.self) { try OutboundSession.checkVariableName(name, of: "set") }
        }
        #expect(throws: Never.self) { try OutboundSession.checkVariableName("sbtest_x", of: "set") }
    }

    @Test("originate's -ERR output carries the hangup cause; -USAGE carries none")
    func originateOutput() {
        let busy = OriginateError(uuid: "u", output: "-ERR USER_BUSY\n")
        #expect(busy.hangupCause == "USER_BUSY")
        #expect(busy.message == "-ERR USER_BUSY")
        #expect(busy.description == "OriginateError: the call u failed: USER_BUSY")
        #expect(OriginateError(uuid: "u", output: "-USAGE: <call url> <exten>\n").hangupCause == nil)
        #expect(OriginateError(uuid: "u", output: "-ERR something else\n").hangupCause == nil)
    }

    @Test("originate's application argument is escaped for its split at spaces; ')' and bad words are refused")
    func originateDestination() throws {
        let play = Originate("loopback/1/default", then: .application("playback", argument: "/tmp/my file's.wav"))
        #expect(try play.arguments == #"loopback/1/default &playback(/tmp/my\sfile\'s.wav)"#)
        let extensionCall = Originate("loopback/1/default", then: .extension("1000", context: "default"))
        #expect(try extensionCall.arguments == "loopback/1/default 1000 XML default")
        let refused = [
            Originate("l/1", then: .application("log", argument: "INFO (x)")),
            Originate("l/1", then: .application("two words")),
            Originate("l/1", then: .extension("10 00")),
            Originate("l/1", then: .extension("1000", context: "")),
        ]
        for call in refused {
            #expect(throws: SwitchboardError.self) { _ = try call.arguments }
        }
    }
}
