import Foundation
import SwitchboardDaemon
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `Key=value` settings of a unit file, by key, in file order (repeated keys keep every value).
private func settings(ofUnit path: String) throws -> [String: [String]] {
    var result: [String: [String]] = [:]
    for line in try contents(of: path).split(separator: "\n") {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.hasPrefix("#"), !trimmed.hasPrefix("["), let equals = trimmed.firstIndex(of: "=") else {
            continue
        }
        result[String(trimmed[..<equals]), default: []].append(String(trimmed[trimmed.index(after: equals)...]))
    }
    return result
}

/// A copy of the unit files whose `ExecStart=` names an executable that exists here, for `systemd-analyze verify`.
private func unitCopies(in directory: TemporaryDirectory) throws -> (service: String, socket: String) {
    let stub = directory.file("switchboard-stub")
    try "#!/bin/sh\nexit 0\n".write(toFile: stub, atomically: false, encoding: .utf8)
    try #require(chmod(stub, 0o755) == 0)
    let service = try contents(of: Repository.path("packaging/systemd/switchboard.service"))
    try #require(service.contains("\nExecStart=/usr/bin/switchboard "))
    let rewritten = service.replacingOccurrences(of: "\nExecStart=/usr/bin/switchboard ", with: "\nExecStart=\(stub) ")
    try rewritten.write(toFile: directory.file("switchboard.service"), atomically: false, encoding: .utf8)
    let socket = try contents(of: Repository.path("packaging/systemd/switchboard.socket"))
    try socket.write(toFile: directory.file("switchboard.socket"), atomically: false, encoding: .utf8)
    return (directory.file("switchboard.service"), directory.file("switchboard.socket"))
}

private let systemdAnalyze = Tool.path("systemd-analyze")
private let logrotate = Tool.path("logrotate")
private let dpkgDeb = Tool.path("dpkg-deb")

@Suite("Packaging")
struct PackagingTests {
    @Test(
        "systemd-analyze verify accepts the service and socket units without a word",
        .enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed (apt-get install systemd)")
    )
    func verifyUnits() async throws {
        let directory = try TemporaryDirectory()
        let units = try unitCopies(in: directory)
        let result = try await Tool.run(
            try #require(systemdAnalyze),
            ["verify", "--man=no", units.socket, units.service]
        )
        #expect(result.status == 0)
        #expect(result.output.isEmpty, "systemd-analyze verify printed:\n\(result.output)")
    }

    @Test(
        "the service unit is hardened (systemd-analyze security rates it OK or better)",
        .enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed (apt-get install systemd)")
    )
    func hardening() async throws {
        let directory = try TemporaryDirectory()
        let units = try unitCopies(in: directory)
        let result = try await Tool.run(
            try #require(systemdAnalyze),
            ["security", "--offline=yes", "--no-pager", units.service]
        )
        let summary = try #require(
            result.output.firstMatch(of: /Overall exposure level for switchboard.service: (\d+\.\d+)/),
            "\(result.output)"
        )
        #expect(Double(summary.1) ?? 10 <= 2.0, "\(result.output)")
    }

    @Test("the service is a notify service with watchdog, reload by SIGHUP and a dedicated user")
    func serviceSettings() async throws {
        let service = try settings(ofUnit: Repository.path("packaging/systemd/switchboard.service"))
        #expect(service["Type"] == ["notify"])
        #expect(service["NotifyAccess"] == ["main"])
        #expect(service["ExecStart"] == ["/usr/bin/switchboard run --config \(SwitchboardConfiguration.defaultPath)"])
        #expect(service["ExecReload"] == ["/bin/kill -HUP $MAINPID"])
        #expect(service["User"] == ["switchboard"])
        #expect(service["Group"] == ["switchboard"])
        #expect(service["DynamicUser"] == nil)
        #expect(service["Restart"] == ["on-failure"])
        #expect(service["KillSignal"] == ["SIGTERM"])
        #expect(service["CapabilityBoundingSet"] == [""])
        #expect(service["ProtectSystem"] == ["strict"])
        // The stop timeout must leave room for the default drain time of outbound calls.
        let stopTimeout = try #require(service["TimeoutStopSec"]?.first.flatMap { Int($0.replacing("s", with: "")) })
        let drain = OutboundListenerSettings(name: "x", handler: "y").drainTime
        #expect(Duration.seconds(stopTimeout) > drain)
    }

    @Test("the socket unit passes the example's outbound listener its socket, by name")
    func socketMatchesExample() async throws {
        let socket = try settings(ofUnit: Repository.path("packaging/systemd/switchboard.socket"))
        let configuration = try ConfigurationLoader(registry: testRegistry)
            .load(contentsOf: Repository.path("etc/switchboard.json"))
        let listener = try #require(configuration.outboundListeners.first)
        #expect(socket["FileDescriptorName"] == [listener.name])
        #expect(socket["ListenStream"] == ["\(listener.bind):\(listener.port)"])
        #expect(socket["Service"] == ["switchboard.service"])
    }

    @Test(
        "logrotate -d accepts the logrotate file",
        .enabled(if: logrotate != nil, "logrotate is not installed (apt-get install logrotate)")
    )
    func logrotateDebug() async throws {
        let directory = try TemporaryDirectory()
        let result = try await Tool.run(
            try #require(logrotate),
            ["-d", "-s", directory.file("state"), Repository.path("packaging/logrotate/switchboard")]
        )
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.lowercased().contains("error"), "\(result.output)")
        let text = try contents(of: Repository.path("packaging/logrotate/switchboard"))
        let directives = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        #expect(!directives.contains { $0.contains("copytruncate") })
        #expect(directives.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("create 0640") })
        #expect(text.contains("--kill-whom=main --signal=HUP switchboard.service"))
    }

    @Test(
        "a real rotation renames the log, creates a new one, runs postrotate; reopen then writes into the new file",
        .enabled(if: logrotate != nil, "logrotate is not installed (apt-get install logrotate)")
    )
    func realRotation() async throws {
        let directory = try TemporaryDirectory()
        let logPath = directory.file("switchboard.log")
        let marker = directory.file("postrotate-ran")
        // The shipped file, pointed at a temporary log and with a postrotate that leaves a mark instead of
        // signalling a service.
        var config = try contents(of: Repository.path("packaging/logrotate/switchboard"))
        config = config.replacingOccurrences(of: "/var/log/switchboard/*.log", with: "\(directory.path)/*.log")
        let postrotate = try #require(config.firstMatch(of: /(?m)^\s*systemctl kill .*$/))
        config.replaceSubrange(postrotate.range, with: "        touch \(marker)")
        let configPath = directory.file("logrotate.conf")
        try config.write(toFile: configPath, atomically: false, encoding: .utf8)

        let file = try LogFile(path: logPath)
        file.write(line: "before rotation")
        let result = try await Tool.run(try #require(logrotate), ["-f", "-s", directory.file("state"), configPath])
        #expect(result.status == 0, "\(result.output)")
        #expect(access(marker, F_OK) == 0, "postrotate did not run")
        file.write(line: "between rotation and reopen")
        try file.reopen()
        file.write(line: "after reopen")

        #expect(try contents(of: logPath + ".1") == "before rotation\nbetween rotation and reopen\n")
        #expect(try contents(of: logPath) == "after reopen\n")
        var status = stat()
        try #require(stat(logPath, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o640)
    }

    @Test(
        "build-deb.sh lays out the package: binary, units, logrotate, conffile, maintainer scripts",
        .enabled(if: dpkgDeb != nil, "dpkg-deb is not installed (apt-get install dpkg)")
    )
    func debianPackage() async throws {
        let directory = try TemporaryDirectory()
        let binary = directory.file("switchboard")
        try "#!/bin/sh\necho switchboard\n".write(toFile: binary, atomically: false, encoding: .utf8)
        try #require(chmod(binary, 0o755) == 0)
        let output = directory.file("out")
        let build = try await Tool.run(
            "/bin/bash",
            [
                Repository.path("packaging/debian/build-deb.sh"), "--binary", binary, "--version", "1.2.3",
                "--output", output,
            ]
        )
        try #require(build.status == 0, "\(build.output)")
        let package = try #require(build.output.split(separator: "\n").last.map(String.init))
        #expect(package.hasPrefix("\(output)/switchboard_1.2.3_") && package.hasSuffix(".deb"))

        let listing = try await Tool.run(try #require(dpkgDeb), ["--contents", package])
        try #require(listing.status == 0)
        for expected in [
            "-rwxr-xr-x root/root", "./usr/bin/switchboard", "./lib/systemd/system/switchboard.service",
            "./lib/systemd/system/switchboard.socket", "./etc/logrotate.d/switchboard",
            "./etc/switchboard/switchboard.json",
        ] {
            #expect(listing.output.contains(expected), "\(expected) missing from:\n\(listing.output)")
        }

        let control = try await Tool.run(try #require(dpkgDeb), ["--field", package, "Package", "Version", "Depends"])
        #expect(control.output.contains("Package: switchboard"))
        #expect(control.output.contains("Version: 1.2.3"))
        #expect(control.output.contains("adduser"))

        let extracted = directory.file("control")
        let extract = try await Tool.run(try #require(dpkgDeb), ["--control", package, extracted])
        try #require(extract.status == 0, "\(extract.output)")
        let conffiles = try contents(of: extracted + "/conffiles")
        #expect(conffiles.split(separator: "\n").contains("/etc/switchboard/switchboard.json"))
        let postinst = try contents(of: extracted + "/postinst")
        #expect(postinst.contains("adduser --system --group"))
        #expect(!postinst.contains("systemctl enable"))
        #expect(!postinst.contains("systemctl start"))
        for script in ["postinst", "prerm", "postrm"] {
            let syntax = try await Tool.run("/bin/sh", ["-n", "\(extracted)/\(script)"])
            #expect(syntax.status == 0, "\(script): \(syntax.output)")
        }
    }
}
