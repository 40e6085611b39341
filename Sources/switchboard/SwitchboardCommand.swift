import ArgumentParser
import CoreMetrics
import Logging
import Switchboard
import SwitchboardDaemon

#if canImport(Glibc)
import Glibc
#endif

/// The `switchboard` command line.
@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "FreeSWITCH call control: event socket listeners run as a supervised daemon.",
        version: SwitchboardVersion.current,
        subcommands: [Run.self, CheckConfig.self, ListHandlers.self, DemoCommand.self, RayoCommand.self]
    )
}

enum SwitchboardVersion {
    static let current = "0.1.0"
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The JSON configuration file.")
    var config: String = SwitchboardConfiguration.defaultPath
}

/// Loads and validates a config file, printing every problem to standard error.
func loadConfiguration(_ path: String) throws -> SwitchboardConfiguration {
    do {
        return try ConfigurationLoader(registry: registeredHandlers).load(contentsOf: path)
    } catch {
        printError("\(error)")
        throw ExitCode(2)
    }
}

func printError(_ text: String) {
    var standardError = StandardError()
    print(text, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }
}

extension String {
    func padded(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try loadConfiguration(options.config)
        let logFile: LogFile
        do {
            logFile = try configuration.log.file.map { try LogFile(path: $0) } ?? LogFile.standardError()
        } catch {
            printError("switchboard: \(OperatorText.reason(error))")
            throw ExitCode(1)
        }
        let level = configuration.log.level
        LoggingSystem.bootstrap { _ in LogFileHandler(file: logFile, level: level) }
        let logger = Logger(label: "switchboard")
        let inherited: [String: Int32]
        do {
            inherited = try SocketActivation.listeners(logger: logger)
        } catch {
            logger.error("socket activation: \(OperatorText.reason(error))")
            printError("switchboard: socket activation: \(OperatorText.reason(error))")
            throw ExitCode(1)
        }
        let daemon = Daemon(
            configuration: configuration,
            registry: registeredHandlers,
            logFile: logFile,
            logger: logger,
            inheritedSockets: inherited
        )
        // Once per process: whatever records through swift-metrics reports to the same endpoint.
        if let metrics = daemon.metrics { MetricsSystem.bootstrap(metrics.factory) }
        do {
            try await daemon.run()
        } catch {
            logger.critical("\(OperatorText.reason(error))")
            printError("switchboard: \(OperatorText.reason(error))")
            throw ExitCode(1)
        }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file; print every problem and exit non-zero if there is any."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try loadConfiguration(options.config)
        let rayo = configuration.rayoSummary.map { ", \($0)" } ?? ""
        print("\(options.config): OK (\(configuration.listeners.count) listeners\(rayo))")
    }
}

struct ListHandlers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handlers",
        abstract: "List the handlers compiled into this program."
    )

    func run() async throws {
        let entries =
            registeredHandlers.entries.map { ($0.name, $0.kind.rawValue, $0.summary) }
            + [(BuiltInHandler.rayo, HandlerKind.outbound.rawValue, BuiltInHandler.rayoSummary)]
        let width = entries.map(\.0.count).max() ?? 0
        let loader = ConfigurationLoader(registry: registeredHandlers)
        for (name, kind, summary) in entries.sorted(by: { $0.0 < $1.0 }) {
            print("\(name.padded(to: width))  \(kind.padded(to: 8))  \(summary)")
            let keys = loader.settingsKeys(ofHandler: name)
            if !keys.isEmpty {
                print("\("".padded(to: width))  \("".padded(to: 8))  settings: \(keys.joined(separator: ", "))")
            }
        }
    }
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the daemon on the example config against a simulated FreeSWITCH in this process."
    )

    @Option(name: .long, help: "The configuration to run (its ports are replaced by free ones).")
    var config: String = "etc/switchboard.json"

    func run() async throws {
        let configuration = try loadConfiguration(config)
        var logger = Logger(label: "switchboard") { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = .info
            return handler
        }
        logger.logLevel = .info
        try await Demo.run(configuration: configuration, registry: registeredHandlers, logger: logger) { line in
            print("demo: \(line)")
        }
    }
}
