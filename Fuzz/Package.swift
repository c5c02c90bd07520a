// swift-tools-version: 6.0
// libFuzzer targets for Slide's parsers (make fuzz, make fuzz-smoke; README "Fuzzing").
// A package of its own so the main package and `swift test` stay untouched. Build with
//   swift build --package-path Fuzz -c release --sanitize=fuzzer --sanitize=address \
//     -Xswiftc -enable-testing --build-path .build/fuzz
// (-enable-testing: the kallsyms and module targets reach internal entry points through @testable).
import PackageDescription

let targets = ["elf", "image", "kallsyms", "fdt", "relr", "cpio", "module", "efimemmap", "pe"]

let package = Package(
    name: "SlideFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Slide", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "SlideCore", package: "Slide")]),
    ] + targets.map { name in
        // -parse-as-library: no Swift main, so libFuzzer's main() drives LLVMFuzzerTestOneInput.
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: ["FuzzSupport", .product(name: "SlideCore", package: "Slide"), .product(name: "SlideKit", package: "Slide")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
)
