import ArgumentParser
import SlideKit

struct RelaCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relacheck",
        abstract: "Fail when code that runs before relocation reads an absolute (R_AARCH64_ABS64) word.",
        usage: "slide relacheck [--root <symbol> ...] [<options>] <object>",
        discussion: """
            Reads an ET_REL object built with per-function sections, follows relocations from the
            given entry points, and reports every R_AARCH64_ABS64 in a reached data section: in a
            PIE kernel that word is only valid after relocation. Exit 1 on any finding (like
            Linux's relacheck, which fails the build).

            Examples:
              slide relacheck early.o --root slide_early --root slide_relocate
            """)

    @Option(name: .customLong("root"), help: "An entry point that runs before relocation (repeatable).")
    var roots: [String] = []
    @Option(name: .customLong("max-findings"), help: "Print at most N findings (0 = all).") var maxFindings = 10
    @Argument(help: "Object file.") var object: String

    func validate() throws { if roots.isEmpty { throw ValidationError("give at least one --root") } }

    func run() throws {
        try reportingErrors { () throws(SlideKitError) in
            let findings = try RelaCheck.check(object, roots: roots)
            for f in findings.prefix(maxFindings == 0 ? findings.count : maxFindings) { emit("error: \(object): \(f)\n") }
            if maxFindings > 0 && findings.count > maxFindings {
                emit("note: \(findings.count - maxFindings) more findings not shown (--max-findings 0 shows all)\n")
            }
            if !findings.isEmpty { throw SlideKitError(object, "\(findings.count) absolute relocation(s) reachable before relocation") }
            emit("\(object): no absolute relocations reachable from \(roots.joined(separator: ", "))\n")
        }
    }
}
