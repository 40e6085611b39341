import Rayo
import Testing
import XMPP

@Suite("Record component (urn:xmpp:rayo:record:1)")
struct ComponentRecordTests {
    static let minimal = XMLElement("record", namespace: RayoNamespace.record)

    @Test("defaults are those of XEP-0327 (format wav)")
    func defaults() throws {
        let record = try RayoRecordRequest(element: Self.minimal)
        #expect(record == RayoRecordRequest())
        #expect(record.format == "wav")
        #expect(!record.startBeep && !record.stopBeep && !record.startPaused && !record.mix)
        #expect(record.maxDuration == nil && record.initialTimeout == nil && record.finalTimeout == nil)
        #expect(record.direction == .duplex)
        #expect(record.hints.isEmpty)
        #expect(record.element == Self.minimal)
        #expect(try RayoComponentRequest.parse(Self.minimal) == .record(record))
    }

    @Test("every attribute and hints parse")
    func everyAttribute() throws {
        let element = XMLElement(
            "record",
            namespace: RayoNamespace.record,
            attributes: [
                XMLAttribute("format", "mp3"), XMLAttribute("start-beep", "true"), XMLAttribute("stop-beep", "1"),
                XMLAttribute("start-paused", "true"), XMLAttribute("max-duration", "30000"),
                XMLAttribute("initial-timeout", "5000"), XMLAttribute("final-timeout", "2000"),
                XMLAttribute("direction", "recv"), XMLAttribute("mix", "true"),
            ],
            children: [.element(XMLElement("hint", ["name": "bitrate", "value": "64k"]))]
        )
        let record = try RayoRecordRequest(element: element)
        #expect(
            record
                == RayoRecordRequest(
                    format: "mp3",
                    startBeep: true,
                    stopBeep: true,
                    startPaused: true,
                    maxDuration: .seconds(30),
                    initialTimeout: .seconds(5),
                    finalTimeout: .seconds(2),
                    direction: .recv,
                    mix: true,
                    hints: [RayoRecordRequest.Hint(name: "bitrate", value: "64k")]
                )
        )
        #expect(record.element.resolved() == settingAttribute("stop-beep", "true", in: element).resolved())
        #expect(try RayoRecordRequest(element: record.element) == record)
    }

    static let badAttributes: [BadComponentAttribute] = [
        BadComponentAttribute(
            "format",
            "wav file",
            "record format must be a file format token such as wav or mp3, got 'wav file'"
        ),
        BadComponentAttribute(
            "format",
            "../../etc/passwd",
            "record format must be a file format token such as wav or mp3, got '../../etc/passwd'"
        ),
        BadComponentAttribute("format", "", "record format must be a file format token such as wav or mp3, got ''"),
        BadComponentAttribute("start-beep", "yes", "record start-beep must be true or false, got 'yes'"),
        BadComponentAttribute("stop-beep", "2", "record stop-beep must be true or false, got '2'"),
        BadComponentAttribute("start-paused", "True", "record start-paused must be true or false, got 'True'"),
        BadComponentAttribute(
            "max-duration",
            "-5",
            "record max-duration must be -1 or a non-negative integer of milliseconds, got '-5'"
        ),
        BadComponentAttribute(
            "max-duration",
            "999999999999",
            "record max-duration must be at most 86400000 milliseconds, got '999999999999'"
        ),
        BadComponentAttribute(
            "initial-timeout",
            "x",
            "record initial-timeout must be -1 or a non-negative integer of milliseconds, got 'x'"
        ),
        BadComponentAttribute(
            "final-timeout",
            "1.0",
            "record final-timeout must be -1 or a non-negative integer of milliseconds, got '1.0'"
        ),
        BadComponentAttribute("direction", "both", "record direction must be one of duplex, send, recv; got 'both'"),
        BadComponentAttribute("mix", "no", "record mix must be true or false, got 'no'"),
    ]

    @Test("a bad attribute value gives an error naming the element and attribute", arguments: badAttributes)
    func badAttribute(_ bad: BadComponentAttribute) {
        expectComponentParseError(bad.message, element: "record") {
            _ = try RayoRecordRequest(element: settingAttribute(bad.attribute, bad.value, in: Self.minimal))
        }
    }

    @Test("a hint without name or value is refused")
    func badHints() {
        let noName = XMLElement(
            "record",
            namespace: RayoNamespace.record,
            children: [.element(XMLElement("hint", ["value": "1"]))]
        )
        expectComponentParseError("missing record hint name attribute", element: "hint") {
            _ = try RayoRecordRequest(element: noName)
        }
        let noValue = XMLElement(
            "record",
            namespace: RayoNamespace.record,
            children: [.element(XMLElement("hint", ["name": "x"]))]
        )
        expectComponentParseError("missing record hint value attribute", element: "hint") {
            _ = try RayoRecordRequest(element: noValue)
        }
    }

    @Test("commands pause and resume")
    func commands() throws {
        for command in RayoRecordCommand.allCases {
            #expect(RayoRecordCommand.parse(command.element) == command)
            #expect(try RayoComponentCommand.parse(command.element) == .record(command))
            #expect(RayoComponentCommand.record(command).element == command.element)
        }
        #expect(RayoRecordCommand.pause.element.serialized() == "<pause xmlns='urn:xmpp:rayo:record:1'/>")
        #expect(RayoComponentCommand.record(.pause).acceptingKinds == [.record])
        #expect(try RayoComponentCommand.parse(XMLElement("seek", namespace: RayoNamespace.record)) == nil)
    }

    @Test("completion reasons and the recording")
    func completions() throws {
        for reason in RayoRecordCompletion.allCases {
            #expect(try RayoRecordCompletion(element: reason.element) == reason)
            #expect(try RayoComponentCompletionReason.parse(reason.element) == .record(reason))
        }
        let recording = RayoRecording(uri: "file:///tmp/rec.wav", duration: .milliseconds(12_345), size: 98_765)
        #expect(
            recording.element.serialized()
                == "<recording xmlns='urn:xmpp:rayo:record:complete:1' uri='file:///tmp/rec.wav' duration='12345' "
                + "size='98765'/>"
        )
        #expect(try RayoRecording(element: recording.element) == recording)
        #expect(try RayoComponentCompletionMetadata.parse(recording.element) == .recording(recording))
        #expect(try RayoComponentCompletionReason.parse(recording.element) == nil)
    }

    @Test("a malformed recording is refused")
    func badRecording() {
        let good = RayoRecording(uri: "file:///tmp/rec.wav", duration: .seconds(1), size: 10).element
        expectComponentParseError("missing recording uri attribute", element: "recording") {
            _ = try RayoRecording(element: settingAttribute("uri", nil, in: good))
        }
        expectComponentParseError("recording duration must be a non-negative integer of milliseconds, got '-1'") {
            _ = try RayoRecording(element: settingAttribute("duration", "-1", in: good))
        }
        expectComponentParseError("recording size must be a non-negative integer of bytes, got 'big'") {
            _ = try RayoComponentCompletionMetadata.parse(settingAttribute("size", "big", in: good))
        }
    }
}
