import ArgumentParser
import Foundation
import SlideCore
import SlideKit

struct MkImage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkimage",
        abstract: "Build a bootable arm64 Image from a PIE kernel ELF, sealed for verification at boot.",
        usage: "slide mkimage [<options>] (-o <output> | --check) <file>",
        discussion: """
            The fixup step (docs/image.md), made trustworthy: the flat Image
            (`objcopy -O binary` semantics), its header checked against the ELF, the relocations
            checked (only R_AARCH64_RELATIVE, nothing in the header, tables inside the image, no
            PLT entries), an `__ex_table` sorted, and a seal — digest and table bounds — written
            into the `slide_seal` placeholder so the kernel can verify itself before relocating.
            The result is verified, then written atomically.

            With --check, lints an existing Image instead: verification plus the seal's digest.

            Examples:
              slide mkimage kernel.elf -o Image
              slide mkimage kernel.elf --pack-relr -o Image
              slide mkimage --check Image
              slide mkimage --check --require-seal Image
            """)

    @Option(name: .shortAndLong, help: "Output Image.") var output: String?
    @Flag(name: .customLong("pack-relr"), help: "Repack R_AARCH64_RELATIVE RELA entries as RELR (in the RELA table's space).")
    var packRelr = false
    @Flag(name: .customLong("zero-relocated-places"), help: "Zero every RELA place (what --no-apply-dynamic-relocs does), for better compression.")
    var zeroRelocatedPlaces = false
    @Option(name: .customLong("page-size"), help: "Expected kernel page size in bytes (4096, 16384, 65536), checked against the header.")
    var pageSize: UInt64?
    @Flag(name: .customLong("allow-symbolic"), help: "Accept ABS64/GLOB_DAT entries (left untouched, as Linux's boot code does): for Linux vmlinux files.")
    var allowSymbolic = false
    @Flag(help: "Lint an existing Image instead of building one.") var check = false
    @Flag(name: .customLong("require-seal"), help: "With --check: an Image without a seal fails (by default it is a warning).")
    var requireSeal = false
    @Flag(help: "Print the summary as JSON (schema slide/v1).") var json = false
    @Argument(help: "Kernel ELF (or, with --check, an Image).") var file: String

    func validate() throws {
        if !check && output == nil { throw ValidationError("give -o OUT (or --check to lint an Image)") }
        if packRelr && zeroRelocatedPlaces { throw ValidationError("--pack-relr and --zero-relocated-places exclude each other: RELR places must hold their link value") }
    }

    func run() throws {
        try reportingErrors { () throws(SlideKitError) in
            if check {
                let k = try KernelImage.load(path: file)
                let report = try Verifier.verify(k)
                let seal = try SealCheck.check(k)
                emit(VerifyText.text(report, k, maxPerCheck: 50))
                let absent = seal == "absent"
                emit(absent ? "\(requireSeal ? "error" : "warning"): not sealed: no slide mkimage seal (a Slide kernel refuses to boot without one) [not-sealed]\n"
                     : "seal: \(seal)\n")
                var reasons: [String] = []
                if report.errors > 0 { reasons.append("\(report.errors) verification error\(report.errors == 1 ? "" : "s")") }
                if seal.hasPrefix("mismatch") { reasons.append("the seal does not match the image") }
                if absent && requireSeal { reasons.append("not sealed (--require-seal)") }
                if !reasons.isEmpty { throw SlideKitError(file, "check failed: " + reasons.joined(separator: "; ")) }
                return
            }
            var options = BuildOptions()
            options.packRelr = packRelr
            options.zeroRelocatedPlaces = zeroRelocatedPlaces
            options.pageSize = pageSize
            options.allowSymbolic = allowSymbolic
            let r = try ImageBuilder.build(file, options)
            reportToStandardError = Files.isStandardInput(output!)
            try Files.writeAtomically(r.image, to: output!)
            if json {
                emit(r.document(file: file, output: output!).rendered() + "\n")
            } else {
                emit("wrote \(output!): \(r.image.count) bytes, image_size \(hex(r.memorySize)), \(r.relaEntries) RELA entries, "
                     + "\(r.relrWords) RELR words (\(r.relrPlaces) places), \(r.sealed ? "sealed" : "NOT sealed")\n")
                for n in r.notes { emit("note: \(n)\n") }
            }
        }
    }
}
