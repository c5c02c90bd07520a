// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Slide",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "slide", targets: ["slide"]),
        .library(name: "SlideCore", targets: ["SlideCore"]),
        .library(name: "SlideKit", targets: ["SlideKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Runs on the host and, compiled as Embedded Swift, inside the kernel.
        .target(name: "SlideCore"),
        // zlib for gzip-compressed Images (Debian zlib1g-dev).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // liblzma and libzstd for .xz / .zst kernels, zboot payloads and modules.
        .systemLibrary(name: "CLzma", providers: [.apt(["liblzma-dev"])]),
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
        // Host-only: files, input detection, table discovery, checks, reports.
        .target(name: "SlideKit", dependencies: ["SlideCore", "CZlib", "CLzma", "CZstd"]),
        .executableTarget(
            name: "slide",
            dependencies: ["SlideKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // make bench: SlideCore's RELA apply against the same loop in C, compiled at -O2, in one process.
        .target(name: "CApply", path: "Benchmarks/CApply", cSettings: [.unsafeFlags(["-O2"])]),
        .executableTarget(name: "slide-bench", dependencies: ["SlideKit", "CApply"], path: "Benchmarks/slide-bench"),
        // make soak: N boots of the Slide kernel, parameters drawn from one master seed, each report
        // checked in process against SlideKit's and SlideCore's model of the same inputs.
        .executableTarget(name: "slide-soak", dependencies: ["SlideKit", "SlideCore"]),
        .testTarget(name: "SlideCoreTests", dependencies: ["SlideCore"]),
        .testTarget(name: "SlideKitTests", dependencies: ["SlideKit"]),
    ]
)
