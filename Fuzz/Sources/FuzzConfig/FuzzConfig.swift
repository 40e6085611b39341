import Handlers
import LibFuzzer
import Switchboard
import SwitchboardDaemon

// A configuration file through the daemon's loader: its JSON parser, then the validator of every section (log,
// listeners, rayo), against the handlers `switchboard` ships. Besides crashes, leaks and hangs, it checks that
// every problem reported points inside the text.

private let loader = ConfigurationLoader(
    registry: HandlerRegistry(inbound: [EventLogger.self], outbound: [DemoIVR.self])
)

/// One input, any bytes.
private let test: FuzzTest = { data, count in
    let bytes = Array(UnsafeRawBufferPointer(fuzzerInput: data, count: count))
    do throws(ConfigurationError) {
        let configuration = try loader.load(json: bytes, file: "fuzz.json")
        _ = (configuration.inboundListeners, configuration.outboundListeners, configuration.rayoSummary)
    } catch {
        _ = error.description
        let lines = bytes.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        for problem in error.problems {
            guard let position = problem.position else { continue }
            guard (1...lines).contains(position.line), position.column >= 1 else {
                fatalError("problem at \(position), outside a text of \(lines) lines: \(problem)")
            }
        }
    }
    return 0
}

/// The program: libFuzzer's driver running the test.
@main
enum ConfigFuzzer {
    static func main() { runFuzzer(test) }
}
