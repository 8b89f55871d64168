// swift-tools-version:6.2
import PackageDescription

// Warnings fail the build of our own targets (dependencies keep theirs): a warning is fixed when it appears.
let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny"), .treatAllWarnings(as: .error)]

let package = Package(
    name: "SwiftDFS",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dfs-gateway", targets: ["Gateway"]),
        .executable(name: "dfs-node", targets: ["StorageNode"]),
        .executable(name: "dfs", targets: ["CLI"]),
        .executable(name: "dfs-loadtest", targets: ["LoadTest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Shared values and the node wire protocol: no sockets, no disk.
        .target(
            name: "DFSCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // S3 request authentication (SigV4, aws-chunked bodies) and checksums: pure, no sockets or clocks.
        .target(
            name: "S3Protocol",
            dependencies: [
                "DFSCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The node API client the gateway (and a primary node, to replicate) calls nodes through.
        .target(
            name: "DFSClient",
            dependencies: [
                "DFSCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runs a local cluster as child processes (posix_spawn, signals, free ports, the control socket): `dfs up`,
        // `dfs cluster`, `dfs-loadtest --spawn-cluster` and the integration tests. The servers never link it.
        .target(
            name: "DFSLauncher",
            dependencies: [
                "DFSCore", "DFSClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The MySQL C client (MariaDB Connector/C): `apt-get install libmariadb-dev`.
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        // <sys/xattr.h> for Swift: the storage node records each blob's digest in an extended attribute.
        .target(name: "CFileSystem"),
        .target(
            name: "DFSMetadata",
            dependencies: [
                "DFSCore", "CMariaDB",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Migrations/sqlite"), .embedInCode("Migrations/mysql")],
            swiftSettings: swiftSettings
        ),
        // Command-line plumbing shared by every binary: DFS_* environment fallbacks, durations, sizes, logging.
        .target(
            name: "DFSOptions",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Process plumbing shared by servers: the HTTP server with `100 Continue`, env-backed options.
        .target(
            name: "DFSServer",
            dependencies: [
                "DFSCore", "DFSOptions",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Gateway",
            dependencies: [
                "DFSCore", "DFSClient", "DFSMetadata", "DFSServer", "S3Protocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The dashboard's HTML, CSS and JavaScript and GET /openapi.yaml's document, compiled into dfs-gateway
            // (no files to deploy, no CDN).
            resources: [.embedInCode("Dashboard/static"), .embedInCode("OpenAPI/openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "StorageNode",
            dependencies: [
                "DFSCore", "DFSClient", "DFSServer", "CFileSystem",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "DFSCore", "DFSClient", "DFSLauncher", "DFSOptions",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "LoadTest",
            dependencies: [
                "DFSCore", "DFSClient", "DFSLauncher", "DFSOptions", "S3Protocol",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "loadtest",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "DFSCore", "DFSClient", "DFSLauncher", "DFSServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "DFSCoreTests", dependencies: ["DFSCore"], swiftSettings: swiftSettings),
        .testTarget(name: "S3ProtocolTests", dependencies: ["S3Protocol"], swiftSettings: swiftSettings),
        .testTarget(name: "DFSLauncherTests", dependencies: ["DFSLauncher"], swiftSettings: swiftSettings),
        .testTarget(name: "CLITests", dependencies: ["CLI", "DFSLauncher"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MetadataTests", dependencies: ["DFSMetadata", "DFSCore", "DFSLauncher"], swiftSettings: swiftSettings),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "DFSCore", "DFSMetadata", "DFSServer", "TestSupport", "S3Protocol",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageNodeTests",
            dependencies: [
                "StorageNode", "DFSCore", "DFSClient", "DFSLauncher", "DFSServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoadTestTests",
            dependencies: ["LoadTest", .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TestSupport", "DFSCore", "DFSClient", "DFSLauncher", "DFSMetadata", "S3Protocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
