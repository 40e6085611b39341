// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for Switchboard's parsers of untrusted input. A package of its own, so that the fuzzer's
// instrumentation never reaches the main build. Build it only with the fuzzer and address sanitizers on, as
// scripts/fuzz does (without them, libFuzzer's driver is missing at link time):
//
//     swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// SwiftPM links an executable's `<target>_main` as `main` with `--defsym`, and `-sanitize=fuzzer` links all of
// libFuzzer, its `main` included: lld lets the `--defsym` win (each target's `@main` runs libFuzzer's driver),
// where gold fails on the duplicate.
let linkerSettings: [LinkerSetting] = [.unsafeFlags(["-use-ld=lld"])]

let package = Package(
    name: "switchboard-fuzz",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "FuzzFrames", targets: ["FuzzFrames"]),
        .executable(name: "FuzzConfig", targets: ["FuzzConfig"]),
        .executable(name: "FuzzXMPP", targets: ["FuzzXMPP"]),
    ],
    dependencies: [
        .package(name: "switchboard", path: "..")
    ],
    targets: [
        // libFuzzer's driver, declared for Swift.
        .target(name: "CLibFuzzer"),
        // Runs libFuzzer from a target's `@main`; splits one input into a chunking and a payload.
        .target(name: "LibFuzzer", dependencies: ["CLibFuzzer"], swiftSettings: swiftSettings),
        // Event Socket frames and the events in them (plain, JSON, XML), fed in any chunking.
        .executableTarget(
            name: "FuzzFrames",
            dependencies: ["LibFuzzer", .product(name: "EventSocket", package: "switchboard")],
            swiftSettings: swiftSettings,
            linkerSettings: linkerSettings
        ),
        // The daemon's configuration: the JSON parser and the validator behind it.
        .executableTarget(
            name: "FuzzConfig",
            dependencies: [
                "LibFuzzer",
                .product(name: "SwitchboardDaemon", package: "switchboard"),
                .product(name: "Switchboard", package: "switchboard"),
                .product(name: "Handlers", package: "switchboard"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: linkerSettings
        ),
        // An XMPP client stream into the Rayo server: the stream parser, then the Rayo parsers for each stanza.
        .executableTarget(
            name: "FuzzXMPP",
            dependencies: [
                "LibFuzzer",
                .product(name: "XMPP", package: "switchboard"),
                .product(name: "Rayo", package: "switchboard"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: linkerSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
