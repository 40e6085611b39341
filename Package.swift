// swift-tools-version: 6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
// Locks the thread sanitizer sees (pthread mutexes); Synchronization.Mutex is invisible to it on Linux.
let nioLocks = Target.Dependency.product(name: "NIOConcurrencyHelpers", package: "swift-nio")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let coreMetrics = Target.Dependency.product(name: "CoreMetrics", package: "swift-metrics")
let metricsTestKit = Target.Dependency.product(name: "MetricsTestKit", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EventSocket", targets: ["EventSocket"]),
        .library(name: "Switchboard", targets: ["Switchboard"]),
        .library(name: "SwitchboardTesting", targets: ["SwitchboardTesting"]),
        .library(name: "Handlers", targets: ["Handlers"]),
        .library(name: "XMPP", targets: ["XMPP"]),
        .library(name: "XMPPServer", targets: ["XMPPServer"]),
        .library(name: "Rayo", targets: ["Rayo"]),
        .library(name: "RayoServer", targets: ["RayoServer"]),
        // The daemon as a library: what `switchboard` runs, for tests and for the fuzz targets in Fuzz/.
        .library(name: "SwitchboardDaemon", targets: ["SwitchboardDaemon"]),
        .executable(name: "switchboard", targets: ["switchboard"]),
        .executable(name: "switchboard-bench", targets: ["switchboard-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Layer 1: the Event Socket wire protocol (frames, events, commands). Pure: no I/O.
        .target(name: "EventSocket", dependencies: [nioCore], swiftSettings: swiftSettings),

        // Text for operators: wire text escaped for log lines, addresses as host:port, socket and system errors as
        // sentences. Used by every layer that logs.
        .target(name: "SwitchboardDiagnostics", dependencies: [nioCore, nioPosix], swiftSettings: swiftSettings),

        // Layer 2: connections over SwiftNIO, inbound and outbound listeners, the handler API.
        .target(
            name: "Switchboard",
            dependencies: [
                nioLocks,
                "EventSocket", "SwitchboardDiagnostics", nioCore, nioPosix, logging, serviceLifecycle, coreMetrics,
            ],
            swiftSettings: swiftSettings
        ),

        // A simulated FreeSWITCH on real loopback sockets, for users' handler tests.
        .target(
            name: "SwitchboardTesting",
            dependencies: [nioLocks, "Switchboard", "EventSocket", nioCore, nioPosix, logging],
            swiftSettings: swiftSettings
        ),

        // The example handlers the daemon ships (event-logger, demo-ivr).
        .target(
            name: "Handlers",
            dependencies: ["Switchboard", "SwitchboardDiagnostics", logging],
            swiftSettings: swiftSettings
        ),

        // libexpat, the XML parser ejabberd and Prosody use (Debian: libexpat1-dev).
        .systemLibrary(name: "CExpat", pkgConfig: "expat", providers: [.apt(["libexpat1-dev"])]),

        // Layer 2x: XMPP without I/O: streaming XML parser (expat), elements, JIDs, stanzas, SASL state machines.
        .target(name: "XMPP", dependencies: [nioLocks, "CExpat", crypto], swiftSettings: swiftSettings),

        // Layer 3x: an XMPP c2s server on SwiftNIO (STARTTLS, SASL, bind, presence, ping) that routes stanzas to a
        // local service.
        .target(
            name: "XMPPServer",
            dependencies: [
                nioLocks, "XMPP", "SwitchboardDiagnostics", nioCore, nioPosix, nioSSL, logging, serviceLifecycle,
            ],
            swiftSettings: swiftSettings
        ),

        // An XMPP client over real sockets, for tests and benchmarks.
        .target(
            name: "XMPPTesting",
            dependencies: [nioLocks, "XMPP", nioCore, nioPosix, nioSSL],
            swiftSettings: swiftSettings
        ),

        // Layer 3r: Rayo (XEP-0327) without I/O: the protocol model and the call, mixer and component state machines.
        .target(name: "Rayo", dependencies: ["XMPP", "EventSocket"], swiftSettings: swiftSettings),

        // Layer 4r: the Rayo service: binds the state machines to FreeSWITCH's event socket and to XMPP sessions.
        .target(
            name: "RayoServer",
            dependencies: [
                nioLocks,
                "Rayo", "XMPP", "XMPPServer", "Switchboard", "SwitchboardDiagnostics", "EventSocket", nioCore, logging,
                serviceLifecycle,
            ],
            swiftSettings: swiftSettings
        ),

        // libsystemd's sd_notify and sd_listen_fds_with_names.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),

        // Layer 3: the daemon as a library (config, supervisor, systemd, log file), so tests can drive it.
        .target(
            name: "SwitchboardDaemon",
            dependencies: [
                nioLocks,
                "Switchboard", "EventSocket", "SwitchboardTesting", "SwitchboardDiagnostics", "CSystemd", "RayoServer",
                "Rayo", "XMPP", "XMPPServer",
                logging, serviceLifecycle, nioCore,
                nioPosix, nioHTTP1, coreMetrics, prometheus,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "SwitchboardDaemon", "Switchboard", "SwitchboardTesting", "SwitchboardDiagnostics", "Handlers", logging,
                nioCore, coreMetrics,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchboard-bench",
            dependencies: [
                nioLocks,
                "Switchboard", "SwitchboardTesting", "EventSocket", "XMPP", "XMPPTesting", "Rayo", "RayoServer",
                nioCore, nioPosix, logging, serviceLifecycle,
            ],
            // The switch simulator of (b) and (c), a C program the bench builds at run time.
            exclude: ["SwitchSimulator"],
            swiftSettings: swiftSettings
        ),

        // What our own test targets share: the executor that keeps CPU-bound tests off the cooperative pool, and the
        // scale of their waits under the sanitizers.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),

        .testTarget(
            name: "EventSocketTests",
            dependencies: [
                "EventSocket", "TestSupport", nioCore,
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchboardTests",
            dependencies: [
                nioLocks,
                "Switchboard", "SwitchboardTesting", "SwitchboardDiagnostics", "EventSocket", "Handlers", "TestSupport",
                nioCore,
                nioPosix, .product(name: "NIOEmbedded", package: "swift-nio"), logging,
                .product(name: "InMemoryLogging", package: "swift-log"), coreMetrics, metricsTestKit,
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                nioLocks, "Switchboard", "SwitchboardTesting", "EventSocket", "TestSupport", nioCore, nioPosix, logging,
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                nioLocks,
                "SwitchboardDaemon", "Switchboard", "SwitchboardTesting", "SwitchboardDiagnostics", "Handlers",
                "EventSocket", "RayoServer", "Rayo", "TestSupport", nioCore, nioPosix, logging, coreMetrics,
                serviceLifecycle,
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "XMPPTests",
            dependencies: ["XMPP", "TestSupport", nioCore],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "XMPPServerTests",
            dependencies: [
                nioLocks,
                "XMPPServer", "XMPPTesting", "XMPP", "SwitchboardTesting", "TestSupport", nioCore, nioPosix, nioSSL,
                logging, crypto, serviceLifecycle,
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RayoTests",
            dependencies: ["Rayo", "XMPP", "EventSocket", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RayoServerTests",
            dependencies: [
                nioLocks,
                "RayoServer", "Rayo", "XMPP", "XMPPServer", "XMPPTesting", "Switchboard", "SwitchboardTesting",
                "EventSocket", "TestSupport", nioCore, nioPosix, logging, serviceLifecycle,
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
