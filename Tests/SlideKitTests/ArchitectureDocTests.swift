// docs/architecture.md is the page a newcomer reads first: every path it names must exist, and
// each extension point's list must be where the page says.

import Foundation
import Testing

@Suite struct ArchitectureDoc {
    static let page = repoRoot.appendingPathComponent("docs/architecture.md")

    /// The `code spans` that are paths in the tree (a root folder first, no placeholder like <Name>).
    static func namedPaths(_ text: String) -> [String] {
        let roots = ["Sources/", "Kernel/", "Tests/", "docs/", "scripts/", "Benchmarks/", "Fuzz/"]
        return text.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
            .filter { span in roots.contains { span.hasPrefix($0) } && !span.contains("<") && !span.contains(" ") }
    }

    @Test func everyNamedPathExists() throws {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        let paths = Self.namedPaths(text)
        #expect(paths.count > 30, "the page names the tree's folders and files")
        for p in paths {
            #expect(FileManager.default.fileExists(atPath: repoRoot.appendingPathComponent(p).path), "docs/architecture.md names \(p)")
        }
    }

    /// Each extension point's list is in the file the table names.
    @Test(arguments: [
        ("TableRecognizers", "Sources/SlideKit/Discovery/Recognizer.swift"),
        ("static let checks: [any VerifyCheck]", "Sources/SlideKit/Verify/Verify.swift"),
        ("static let stages: [any MkImageStage]", "Sources/SlideKit/MkImage/ImageBuilder.swift"),
        ("static var formulas: [any LinuxKASLRFormula.Type]", "Sources/SlideKit/KASLR/KASLRPredictor.swift"),
        ("static let all: [any KallsymsAddressLayout]", "Sources/SlideKit/Kallsyms/AddressLayout.swift"),
        ("static var models: [any LinuxEFIStubModel.Type]", "Sources/SlideKit/KASLR/EFIStubPredictor.swift"),
    ])
    func extensionPointIsWhereThePageSays(_ point: (String, String)) throws {
        let source = try String(contentsOf: repoRoot.appendingPathComponent(point.1), encoding: .utf8)
        #expect(source.contains(point.0), "\(point.1) holds \(point.0)")
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        #expect(text.contains("`\(point.1)`"), "the page names \(point.1)")
    }
}
