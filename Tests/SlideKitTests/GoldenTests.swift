// Golden files: the text of `inspect`, `verify` and `relocs` on the ELFs and mini-kernel Images the
// tests build, compared byte for byte with Tests/Golden/ (the fixture directory's path replaced by
// `<fixtures>`). A change of output shows up as a diff in review, never silently.
// Update: SLIDE_UPDATE_GOLDEN=1 swift test --filter GoldenOutputs (then read the diff before committing).

import Foundation
import Testing
@testable import SlideKit

@Suite struct GoldenOutputs {
    static let directory = repoRoot.appendingPathComponent("Tests/Golden")
    static let update = ProcessInfo.processInfo.environment["SLIDE_UPDATE_GOLDEN"] == "1"

    struct Case: CustomTestStringConvertible, Sendable {
        var command: String, fixture: String
        var testDescription: String { "\(command) \(fixture)" }
        var goldenName: String { "\(command)-\(fixture).txt" }
    }

    static let fixtureNames = ["mini-rela.Image", "mini-relr.Image", "mini-rela.elf", "prog-rela.pie", "prog-relr.pie"]
    static let cases = ["inspect", "verify", "relocs"].flatMap { c in fixtureNames.map { Case(command: c, fixture: $0) } }

    @Test(arguments: cases)
    func outputMatchesItsGoldenFile(_ c: Case) throws {
        let f = try fixtures()
        let path = f.dir.appendingPathComponent(c.fixture).path
        #expect(FileManager.default.fileExists(atPath: path), "fixture \(c.fixture)")
        let r = try slide(c.command, path)
        // The exit status and stderr are part of the output.
        let text = ("exit \(r.status)\n" + r.stdout + (r.stderr.isEmpty ? "" : "-- stderr --\n" + r.stderr))
            .replacingOccurrences(of: f.dir.path, with: "<fixtures>")
        let golden = Self.directory.appendingPathComponent(c.goldenName)
        if Self.update {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try text.write(to: golden, atomically: true, encoding: .utf8)
            return
        }
        let expected = try #require(try? String(contentsOf: golden, encoding: .utf8),
                                    "Tests/Golden/\(c.goldenName) missing: SLIDE_UPDATE_GOLDEN=1 swift test --filter GoldenOutputs")
        if text != expected {
            let a = text.split(separator: "\n", omittingEmptySubsequences: false), b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            Issue.record("\(c.goldenName) differs at line \(line + 1): got '\(line < a.count ? a[line] : "<end>")', golden '\(line < b.count ? b[line] : "<end>")'")
        }
    }
}

@Suite struct TextColumns {
    @Test func readelfHexAndCells() {
        #expect(hexPadded(0x19a7290) == "00000000019a7290")
        #expect(hexPadded(0x1f, width: 8) == "0000001f")
        #expect("ab".padded(4) == "ab  " && "abcd".padded(4) == "abcd ")
        #expect("ab".padded(to: 4) == "ab  " && "abcde".padded(to: 4) == "abcde")
    }
}
