import ArgumentParser
import SwitchboardDaemon

#if canImport(Glibc)
import Glibc
#endif

/// `switchboard rayo …`: the Rayo admin console and the password hasher.
struct RayoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rayo",
        abstract: "Talk to the running daemon's Rayo server, or hash a password for the config.",
        discussion: """
            Console requests go over the control socket named by rayo.control.socket in the config:
              switchboard rayo [--config PATH] status
              switchboard rayo [--config PATH] cmd <jid> <xml>
              switchboard rayo [--config PATH] msg <jid> <text>
              switchboard rayo [--config PATH] presence <jid> online|offline
              switchboard rayo [--config PATH] <alias> <jid>      (aliases from rayo.aliases)
            """,
        subcommands: [RayoConsoleCommand.self, RayoHashPassword.self],
        defaultSubcommand: RayoConsoleCommand.self
    )
}

/// The console: one request to the daemon, its answer printed.
struct RayoConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Send one console request (status, cmd, msg, presence or an alias) to the running daemon."
    )

    @OptionGroup var options: ConfigOption

    @Argument(parsing: .captureForPassthrough, help: "status | cmd <jid> <xml> | msg <jid> <text> | …")
    var words: [String] = []

    func run() async throws {
        let configuration = try loadConfiguration(options.config)
        let request: RayoConsoleInvocation
        do {
            request = try RayoConsoleInvocation(words: words, configuration: configuration)
        } catch {
            printError("switchboard rayo: \(error)")
            throw ExitCode(2)
        }
        do {
            let response = try request.send()
            for line in response.lines { print(line) }
            if let failure = response.failure {
                printError("switchboard rayo: \(failure)")
                throw ExitCode(1)
            }
        } catch let failure as RayoConsoleClient.Failure {
            printError("switchboard rayo: \(failure)")
            throw ExitCode(1)
        }
    }
}

/// `switchboard rayo hash-password`: prints the stored keys for a `passwordHash`.
struct RayoHashPassword: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Read a password (standard input, not echoed on a terminal) and print SCRAM stored keys for "
            + "rayo.users[].passwordHash."
    )

    @Option(name: .long, help: "sha-256 (SCRAM-SHA-256) or sha-1 (SCRAM-SHA-1).")
    var hash: String = "sha-256"

    @Option(name: .long, help: "PBKDF2 iterations (at least 4096).")
    var iterations: Int = RayoPasswordHash.defaultIterations

    func validate() throws {
        guard RayoPasswordHash.Function(rawValue: hash) != nil else {
            throw ValidationError("--hash must be sha-256 or sha-1")
        }
        guard RayoPasswordHash.iterationRange.contains(iterations) else {
            throw ValidationError(
                "--iterations must be from \(RayoPasswordHash.iterationRange.lowerBound) to "
                    + "\(RayoPasswordHash.iterationRange.upperBound)"
            )
        }
    }

    func run() async throws {
        let password: String
        do {
            password = try PasswordReader.read(prompt: "Password: ")
        } catch {
            printError("switchboard rayo hash-password: \(error)")
            throw ExitCode(1)
        }
        guard !password.isEmpty else {
            printError("switchboard rayo hash-password: the password is empty")
            throw ExitCode(1)
        }
        let function = RayoPasswordHash.Function(rawValue: hash) ?? .sha256
        print(RayoPasswordHash.storedKeys(password: password, function: function, iterations: iterations))
    }
}

/// Reads one line from standard input; on a terminal, prompts on standard error and turns echo off meanwhile.
enum PasswordReader {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func read(prompt: String) throws -> String {
        let terminal = isatty(0) == 1
        var saved = termios()
        if terminal {
            printErrorWithoutNewline(prompt)
            tcgetattr(0, &saved)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        defer {
            if terminal {
                tcsetattr(0, TCSAFLUSH, &saved)
                printError("")
            }
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = Glibc.read(0, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
            if bytes.count > 4_096 { throw Failure(description: "the password is longer than 4096 bytes") }
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard let password = String(validating: bytes, as: UTF8.self) else {
            throw Failure(description: "the password is not valid UTF-8")
        }
        return password
    }

    private static func printErrorWithoutNewline(_ text: String) {
        var standardError = StandardError()
        standardError.write(text)
    }
}
