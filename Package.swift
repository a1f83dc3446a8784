// swift-tools-version:6.0
import PackageDescription

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
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System libraries (Debian: libudev-dev, libmodbus-dev; installed by .ci/run).
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),

        // Pure MPO domain: geometry, polarity, dB math, recipes, verdicts, report model. No I/O.
        .target(name: "FerruleCore"),
        // Instrument protocols the engine speaks to; transports and drivers live here.
        .target(name: "FerruleDevices", dependencies: [
            "FerruleCore", "CUdev", "CModbus",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Optical model of a bench and simulated instruments, in-process and on the real wire.
        .target(name: "FerruleSimulator", dependencies: [
            "FerruleCore", "FerruleDevices", "CModbus",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Results that must not be lost: the SQLite store, the formats rendered from its records
        // (JSON, CSV, certificate, IPC-CFX, ATML) and the sinks that deliver them.
        .target(name: "FerruleRecords", dependencies: [
            "FerruleCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The engine: config, fixtures, sequencing, references, reports.
        .target(name: "FerruleStation", dependencies: [
            "FerruleCore", "FerruleDevices", "FerruleSimulator", "FerruleRecords",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The status socket: newline-delimited JSON protocol, server and client.
        .target(name: "FerruleControl", dependencies: [
            "FerruleCore", "FerruleStation", "FerruleDevices", "FerruleSimulator", "FerruleRecords",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "ferruled", dependencies: [
            "FerruleCore", "FerruleStation", "FerruleSimulator", "FerruleDevices", "FerruleControl",
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "ferrulectl", dependencies: [
            "FerruleCore", "FerruleControl", "FerruleStation",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "ferrule-sim", dependencies: [
            "FerruleCore", "FerruleSimulator", "FerruleStation",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmarks: print figures, assert nothing (`swift run -c release ferrule-bench`).
        .executableTarget(name: "ferrule-bench", dependencies: [
            "FerruleRecords",
            "FerruleCore", "FerruleDevices", "FerruleStation", "FerruleSimulator", "FerruleControl",
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "FerruleCoreTests", dependencies: ["FerruleCore"]),
        .testTarget(name: "FerruleStationTests", dependencies: [
            "FerruleCore", "FerruleDevices", "FerruleSimulator", "FerruleStation", "FerruleControl", "FerruleRecords",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
