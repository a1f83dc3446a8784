// swift-tools-version:6.0
import Foundation
import PackageDescription

/// `FERRULE_FAST_LAYER=1 swift test`: the fast layer alone (Core, Protocol, Devices, Records, Config
/// and their test targets), which builds with the Swift toolchain and libudev, libmodbus, SQLite's
/// and zlib's headers only: no Proton-C, no servers. Every other target, and the packages only they use, is
/// left out of the package (see the end of this file).
let fastLayer = ProcessInfo.processInfo.environment["FERRULE_FAST_LAYER"] != nil

/// The packages only the daemon, its tools and the integration suites use.
let daemonOnlyPackages: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    // Hummingbird's request and response types, which the web routes name directly.
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
]

let package = Package(
    name: "Ferrule",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ferruled", targets: ["ferruled"]),
        .executable(name: "ferrulectl", targets: ["ferrulectl"]),
        .executable(name: "ferrule-sim", targets: ["ferrule-sim"]),
        .executable(name: "ferrule-bench", targets: ["ferrule-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // zlib for the store's records (libz from zlib1g-dev, which the Swift toolchain needs too).
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/CoreOffice/XMLCoder", from: "0.18.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ] + (fastLayer ? [] : daemonOnlyPackages),
    targets: [
        // System libraries (Debian: libudev-dev, libmodbus-dev; installed by .ci/run).
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        // Apache Qpid Proton-C, the AMQP 1.0 engine (Debian: libqpid-proton11-dev).
        // Headers in /usr/include, no pkg-config: Debian's .pc file opens with a C comment SwiftPM cannot parse.
        .systemLibrary(name: "CProton", providers: [.apt(["libqpid-proton11-dev"])]),

        // Pure MPO domain: geometry, polarity, dB math, recipes, verdicts, report model. No I/O.
        .target(name: "FerruleCore"),
        // The status socket's language: messages, line framing, events and status, and the client.
        // All ferrulectl needs: no instrument, store or simulator code.
        .target(name: "FerruleProtocol", dependencies: [
            "FerruleCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
        ]),
        // Instrument capability protocols, transports, drivers and udev discovery.
        .target(name: "FerruleDevices", dependencies: [
            "FerruleCore", "CUdev", "CModbus",
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
        ]),
        // What a config may ask of the simulated bench, as plain values (faults, transports, settings).
        .target(name: "FerruleSimSpec", dependencies: ["FerruleCore"]),
        // Optical model of a bench and simulated instruments, in-process and on the real wire.
        .target(name: "FerruleSimulator", dependencies: [
            "FerruleCore", "FerruleDevices", "FerruleSimSpec", "CModbus",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
        ]),
        // Results that must not be lost: the SQLite store, the formats rendered from its records
        // (JSON, CSV, certificate, IPC-CFX, ATML) and the sinks that deliver them.
        .target(name: "FerruleRecords", dependencies: [
            "FerruleCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "CompressNIO", package: "compress-nio"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "XMLCoder", package: "XMLCoder"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // AMQP 1.0 publishing through Proton-C (one connection, SASL PLAIN, the broker's settlement as
        // proof) and the IPC-CFX sink that publishes each unit's messages with it.
        .target(name: "FerruleAMQP", dependencies: [
            "FerruleCore", "FerruleRecords", "CProton",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The station's config: reads the YAML, checks every key (naming the key, the value and the
        // fix) and hands out validated, typed specs. The one module that knows YAML.
        .target(name: "FerruleConfig", dependencies: [
            "FerruleCore", "FerruleDevices", "FerruleRecords", "FerruleSimSpec",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The engine: fixtures, sequencing, references, records. Knows instruments only through the
        // capability protocols and its config only as validated specs; never the simulator or YAML.
        .target(name: "FerruleStation", dependencies: [
            "FerruleCore", "FerruleConfig", "FerruleDevices", "FerruleRecords", "FerruleProtocol",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The status socket's server: clients, subscriptions and the station's request handlers.
        .target(name: "FerruleControl", dependencies: [
            "FerruleCore", "FerruleProtocol", "FerruleStation", "FerruleConfig", "FerruleRecords",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The operator's web app: pages and assets shipped in the binary, the JSON API over the same
        // handlers as the socket, live events over a WebSocket, sign-in with bcrypt PINs and roles.
        .target(
            name: "FerruleWeb",
            dependencies: [
                "FerruleCore", "FerruleProtocol", "FerruleStation", "FerruleConfig", "FerruleControl", "FerruleRecords",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Assets/README.md"],
            resources: WebAssets.files.map { .embedInCode("Assets/" + $0) }),
        // What a line engineer's Prometheus scrapes: the station's figures as swift-metrics, kept in a
        // swift-prometheus registry with a help text for each, and the refresh of the gauges at a scrape.
        .target(name: "FerruleMetrics", dependencies: [
            "FerruleCore", "FerruleDevices", "FerruleProtocol", "FerruleStation", "FerruleConfig",
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Builds a station from its config: drivers real or simulated, the engine around them, the
        // demo lot and simulated hands, run-time fault injection. Used by every executable and the tests.
        .target(name: "FerruleSetup", dependencies: [
            "FerruleCore", "FerruleDevices", "FerruleSimSpec", "FerruleSimulator", "FerruleStation", "FerruleConfig", "FerruleProtocol",
            "FerruleControl", "FerruleRecords", "FerruleAMQP",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        .executableTarget(name: "ferruled", dependencies: [
            "FerruleCore", "FerruleStation", "FerruleConfig", "FerruleSetup", "FerruleDevices", "FerruleControl",
            "FerruleProtocol", "FerruleRecords",
            "FerruleWeb", "FerruleSimSpec", "FerruleMetrics",
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The operator's command line: speaks the status socket and nothing else.
        .executableTarget(name: "ferrulectl", dependencies: [
            "FerruleCore", "FerruleProtocol",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "ferrule-sim", dependencies: [
            "FerruleCore", "FerruleSimSpec", "FerruleSimulator", "FerruleStation", "FerruleConfig", "FerruleSetup",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // Benchmarks: print figures, assert nothing (`swift run -c release ferrule-bench`).
        .executableTarget(name: "ferrule-bench", dependencies: [
            "FerruleRecords", "FerruleSetup", "FerruleProtocol", "FerruleSimSpec",
            "FerruleCore", "FerruleDevices", "FerruleStation", "FerruleConfig", "FerruleSimulator", "FerruleControl", "FerruleAMQP",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),

        // What every test target needs and no product does (the repository's paths, scratch
        // folders, a test clock, a deadline wait).
        .target(name: "FerruleTesting", path: "Tests/FerruleTesting"),

        // The fast layer: one target per module, no server and no Proton needed (FERRULE_FAST_LAYER below).
        .testTarget(name: "FerruleCoreTests", dependencies: ["FerruleCore"]),
        .testTarget(name: "FerruleProtocolTests", dependencies: ["FerruleCore", "FerruleProtocol", "FerruleTesting"]),
        .testTarget(name: "FerruleDevicesTests", dependencies: [
            "FerruleCore", "FerruleDevices", "FerruleProtocol",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
        ]),
        .testTarget(name: "FerruleRecordsTests", dependencies: [
            "FerruleCore", "FerruleRecords", "FerruleConfig", "FerruleTesting", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "FerruleConfigTests", dependencies: ["FerruleCore", "FerruleConfig", "FerruleTesting"]),

        // The integration suites: the daemon, the station on simulated benches, the socket, web,
        // browser, PostgreSQL, CFX over RabbitMQ and crash tests.
        .testTarget(name: "FerruleStationTests", dependencies: [
            "FerruleCore", "FerruleDevices", "FerruleSimulator", "FerruleStation", "FerruleConfig", "FerruleControl", "FerruleRecords",
            "FerruleProtocol", "FerruleSimSpec", "FerruleSetup", "FerruleWeb", "FerruleMetrics", "FerruleAMQP", "FerruleTesting",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

if fastLayer {
    let fast: Set = [
        "CUdev", "CModbus", "FerruleCore", "FerruleProtocol", "FerruleDevices", "FerruleRecords", "FerruleSimSpec", "FerruleConfig",
        "FerruleTesting", "FerruleCoreTests", "FerruleProtocolTests", "FerruleDevicesTests", "FerruleRecordsTests", "FerruleConfigTests",
    ]
    package.targets.removeAll { !fast.contains($0.name) }
    package.products.removeAll()
}

/// The web app's pages, scripts, styles and message catalogs, embedded in the binary (no CDN, no npm).
enum WebAssets {
    static let files = [
        "index.html", "app.css", "app.js", "station.js", "pages.js", "i18n.js",
        "messages-en.json", "messages-zh.json", "favicon.svg",
    ]
}
