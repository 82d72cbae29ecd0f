// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Plume",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "plume", targets: ["plume"]),
        .library(name: "PlumeCore", targets: ["PlumeCore"]),
        .library(name: "LuaHost", targets: ["LuaHost"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Lua 5.4 from Debian's liblua5.4-dev, wrapped in a normal C target (not a system-library shim
        // header) so SwiftPM rebuilds it when it changes. The archive is linked statically (Docs/HOST.md).
        .target(name: "CLuaShim",
                cSettings: [.unsafeFlags(["-O2"])],
                linkerSettings: [.unsafeFlags(["-Xlinker", "-l:liblua5.4.a"]),
                                 .linkedLibrary("m"), .linkedLibrary("dl")]),
        .target(name: "LuaHost", dependencies: ["CLuaShim"]),
        .target(name: "PlumeCore",
                dependencies: ["LuaHost",
                               .product(name: "Yams", package: "Yams"),
                               .product(name: "GRDB", package: "GRDB.swift")],
                resources: [.copy("Resources/prelude.lua"), .copy("Resources/grid-annual.csv")]),
        .executableTarget(name: "plume",
                          dependencies: ["PlumeCore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Benchmark baseline (Docs/PERFORMANCE.md): the gmsf equations hand-written in Swift, a delivery-row
        // generator, and the `plume-bench` driver.
        .target(name: "GMSFNative", dependencies: ["PlumeCore", "LuaHost"]),
        .target(name: "BenchSupport", dependencies: ["LuaHost"]),
        .executableTarget(name: "plume-bench",
                          dependencies: ["PlumeCore", "LuaHost", "GMSFNative", "BenchSupport",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "LuaHostTests", dependencies: ["LuaHost"]),
        .testTarget(name: "PlumeCoreTests", dependencies: ["PlumeCore", "GMSFNative", "BenchSupport"],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
