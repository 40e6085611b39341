// swift-tools-version: 6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EventSocket", targets: ["EventSocket"]),
        .library(name: "Switchboard", targets: ["Switchboard"]),
        .library(name: "SwitchboardTesting", targets: ["SwitchboardTesting"]),
        .library(name: "Handlers", targets: ["Handlers"]),
        .executable(name: "switchboard", targets: ["switchboard"]),
        .executable(name: "switchboard-bench", targets: ["switchboard-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // Layer 1: the Event Socket wire protocol (frames, events, commands). Pure: no I/O.
        .target(name: "EventSocket", dependencies: [nioCore], swiftSettings: swiftSettings),

        // Layer 2: connections over SwiftNIO, inbound and outbound listeners, the handler API.
        .target(
            name: "Switchboard",
            dependencies: ["EventSocket", nioCore, nioPosix, logging, serviceLifecycle],
            swiftSettings: swiftSettings
        ),

        // A simulated FreeSWITCH on real loopback sockets, for users' handler tests.
        .target(
            name: "SwitchboardTesting",
            dependencies: ["Switchboard", "EventSocket", nioCore, nioPosix, logging],
            swiftSettings: swiftSettings
        ),

        // The example handlers the daemon ships (event-logger, demo-ivr).
        .target(name: "Handlers", dependencies: ["Switchboard", logging], swiftSettings: swiftSettings),

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
                "Switchboard", "EventSocket", "SwitchboardTesting", "CSystemd", logging, serviceLifecycle, nioCore,
                nioPosix, .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "SwitchboardDaemon", "Switchboard", "SwitchboardTesting", "Handlers", logging, nioCore,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchboard-bench",
            dependencies: ["Switchboard", "SwitchboardTesting", "EventSocket", nioCore, nioPosix, logging],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "EventSocketTests",
            dependencies: [
                "EventSocket", nioCore,
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchboardTests",
            dependencies: [
                "Switchboard", "SwitchboardTesting", "EventSocket", "Handlers", nioCore, nioPosix, logging,
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Switchboard", "EventSocket", nioCore, nioPosix, logging],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "SwitchboardDaemon", "Switchboard", "SwitchboardTesting", "EventSocket", nioCore, nioPosix, logging,
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
