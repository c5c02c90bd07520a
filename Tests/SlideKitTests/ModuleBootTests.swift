// Modules at boot: the Slide kernel loads Kernel/modules/hello.ko from a cpio initrd, links it with
// SlideCore at the randomized module base and runs its init, on every granule (4, 16 and 64 KiB
// pages: the parts laid out and mapped in the kernel's pages). Seeds are chosen on the host so the
// module lands in branch range of the kernel (no PLT may be used) or out of it (PLTs must be used);
// each boot's report is compared with `slide link-module` run on the host at the same base against
// the kernel's own exported symbol table: the same layout, PLT counts and bytes (digests).
// Also: the ksymtab against llvm-nm, and the cpio reader against GNU cpio.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

/// The example modules and their initrd, built by `make kernel`.
func moduleBuild() throws -> URL? {
    let dir = repoRoot.appendingPathComponent(".build/kernel/modules")
    guard try kernelImage("rela") != nil else { return nil }
    guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("initrd.cpio").path) else {
        throw FixtureError(message: "\(dir.path)/initrd.cpio missing: run make kernel")
    }
    return dir
}

/// The exported symbol table of the kernel ELF (`slide inspect`'s and `link-module --kernel`'s reader).
func exportedSymbols(_ variant: String) throws -> [KernelExport] {
    try KernelExports.read(try KernelImage.load(path: repoRoot.appendingPathComponent(".build/kernel/\(variant)/slide-kernel.elf").path))
}

struct ModuleBootCase: CustomTestStringConvertible, Sendable {
    /// Where the module lands: within branch range of the kernel text, beyond it, or with a
    /// module_base so close below the image that the module must skip past it.
    enum Place: String, Sendable { case inRange = "in range", outOfRange = "out of range", overImage = "over the image" }
    var loader = BootOptions.Loader.qemu
    var at: UInt64? = nil
    var place: Place
    var image = "rela"
    /// Where the seed search starts (different seeds for different cases).
    var searchFrom: UInt64
    var testDescription: String { "\(image) \(loader.rawValue)\(at.map { " at \(hex($0))" } ?? "") \(place.rawValue)" }
    /// The kernel's granule, from the variant's name (Makefile: rela-16k, relr-64k, …).
    var granule: Granule { image.hasSuffix("-16k") ? .k16 : image.hasSuffix("-64k") ? .k64 : .k4 }
}

let moduleBootMatrix: [ModuleBootCase] = [
    ModuleBootCase(place: .inRange, searchFrom: 1),
    ModuleBootCase(place: .outOfRange, searchFrom: 1),
    ModuleBootCase(place: .inRange, image: "relr", searchFrom: 5000),
    ModuleBootCase(loader: .direct, at: 0x4820_1000, place: .outOfRange, searchFrom: 7000),   // 4 KiB-misaligned load
    ModuleBootCase(loader: .uBoot, at: 0x4500_0000, place: .inRange, searchFrom: 9000),
    ModuleBootCase(loader: .uBoot, at: 0x4500_0000, place: .outOfRange, image: "relr", searchFrom: 11000),
    ModuleBootCase(place: .overImage, searchFrom: 1),
    // 16 and 64 KiB pages: in and out of range on each, loaded 2 MiB-misaligned by one page (the
    // offset keeps the misalignment, the module region's base is still on a page), and past the image.
    ModuleBootCase(place: .inRange, image: "rela-16k", searchFrom: 13000),
    ModuleBootCase(loader: .direct, at: 0x4820_4000, place: .outOfRange, image: "relr-16k", searchFrom: 15000),
    ModuleBootCase(place: .inRange, image: "relr-64k", searchFrom: 17000),
    ModuleBootCase(loader: .direct, at: 0x4821_0000, place: .outOfRange, image: "rela-64k", searchFrom: 19000),
    ModuleBootCase(place: .overImage, image: "rela-64k", searchFrom: 1),
]

@Suite(.enabled(if: TestData.moduleBuild, TestData.missingKernel)) struct ModuleBoots {
    @Test(arguments: moduleBootMatrix)
    func moduleLinksAtBootAsOnTheHost(_ c: ModuleBootCase) throws {
        let dir = try #require(try moduleBuild()), image = try #require(try kernelImage(c.image))
        let ko = dir.appendingPathComponent("hello.ko").path
        let nm = try kernelSymbols(c.image)
        let (text, stext, etext, end) = (nm["_text"]!, nm["_stext"]!, nm["_etext"]!, nm["_end"]!)
        var o = BootOptions()
        o.loader = c.loader; o.at = c.at; o.timeout = 90
        o.initrd = dir.appendingPathComponent("initrd.cpio").path

        // The module's layout in the kernel's pages (SlideCore, in process): region sizes, and the
        // core's pages per permission.
        let page = c.granule.pageSize
        let (coreSize, initSize, pages) = try readBytes(ko).withUnsafeBytes { raw in
            let layout = try ModuleLayout(try ELFFile(ByteView(raw)), granule: c.granule)
            return (layout.regionSize.core, layout.regionSize.initial,
                    (rx: Int(layout.readOnlyStart.core / page), r: Int((layout.writableStart.core - layout.readOnlyStart.core) / page),
                     rw: Int((layout.regionSize.core - layout.writableStart.core) / page)))
        }

        // A seed that puts the module where the case wants it: every call into the kernel text in
        // range (±128 MiB, with a margin), or none; or a module_base whose module would overlap the image.
        func prediction(_ seed: UInt64) -> (offset: UInt64, base: UInt64, module: UInt64) {
            let m = SlideKASLR.firstModule(seed: seed, loadPA: o.imageAddress, image: ImageLandmarks(text: text, stext: stext, etext: etext, end: end),
                                           size: coreSize + initSize, granule: c.granule)
            return (m.offset, m.base, m.address)
        }
        let target: ModuleSeedSearch.Target = switch c.place { case .inRange: .inRange; case .outOfRange: .outOfRange; case .overImage: .overImage }
        guard let seed = ModuleSeedSearch.firstSeed(target, from: c.searchFrom, tries: 1_000_000, loadPA: o.imageAddress,
                                                    image: ImageLandmarks(text: text, stext: stext, etext: etext, end: end),
                                                    size: coreSize + initSize, granule: c.granule) else {
            Issue.record("no seed for \(c.place.rawValue)"); return
        }
        o.seed = seed
        let (offset, base, module) = prediction(seed)

        // The host: the same module linked at the same base against the kernel's ksymtab at run-time addresses.
        let out = temporaryDirectory("module-boot").appendingPathComponent("hello.core").path
        let elf = repoRoot.appendingPathComponent(".build/kernel/\(c.image)/slide-kernel.elf").path
        let host = try slide(["link-module", ko, "--at", hex(module), "--kernel", elf, "--kernel-offset", hex(offset), "-o", out, "--json"])
        #expect(host.status == 0, "\(host.stderr)")
        let doc = try jsonObject(host.stdout)
        let plt = doc["plt"] as! [String: Int]
        #expect(doc["page_size"] as? String == hex(page), "link-module takes the page size from the kernel's Image header")
        // Sizes are 0x strings, as every address, offset and size in slide's JSON.
        #expect((doc["core"] as? [String: Any])?["size"] as? String == hex(UInt64(coreSize)) && (doc["init"] as? [String: Any])?["size"] as? String == hex(UInt64(initSize)))
        let (pltCore, pltInit) = (plt["core_used"]!, plt["init_used"]!)
        let relocations = (doc["relocations"] as! [String: Int]).values.reduce(0, +)
        let digest = { (path: String) throws -> UInt64 in try readBytes(path).withUnsafeBytes { ImageDigest.compute(ByteView($0)) } }
        let digests = (try digest(out), try digest(out + ".init"))
        if c.place == .outOfRange { #expect(pltCore > 0 && pltInit > 0, "core and init both call the kernel") } else { #expect(pltCore + pltInit == 0) }
        if c.place == .overImage { #expect(module == (end &+ offset + page - 1) & ~(page - 1) && module != base, "just past the image") }
        #expect(base % page == 0 && module % page == 0, "the module region and the module start on the kernel's pages")

        let r = try Booter.boot(image, o)
        #expect(!r.timedOut && r.status == 0, "\(r.output.suffix(2000))")
        #expect(r.value(.offset) == hex(offset))
        #expect(r.value(.moduleBase) == hex(base))
        #expect(r.value(.initrd) == "cpio:3")
        #expect(r.value(.module) == "hello base=\(hex(module)) plts=\(pltCore + pltInit) init=ok", "\(r.output.suffix(2000))")
        #expect(r.value(BootReportKey.moduleDetail("hello")) == "core:\(hex(module))+\(hex(coreSize)),init:\(hex(module + coreSize))+\(hex(initSize)),"
                + "plts_core:\(pltCore),plts_init:\(pltInit),relocs:\(relocations),digest:\(hex(digests.0))/\(hex(digests.1))")
        #expect(r.value(.helloSays) == "hello from a module")
        #expect(r.value(.helloChecks) == "0x0", "every address the module took agrees")
        #expect(r.value(.moduleCounter) == "2", "the module wrote kernel data")
        #expect(r.value(.modulesLoaded) == "1")
        // Mapped per part: after init only the core is mapped (the init pages were unmapped).
        #expect(r.value(.moduleMap) == "rx:\(pages.rx),r:\(pages.r),rw:\(pages.rw)")
        #expect(pages.rx >= 1 && pages.r >= 1 && pages.rw >= 1)
        #expect(r.value(BootReportKey.moduleInitFreed("hello")) == String(initSize / page) && initSize > 0)
        #expect(r.value(.granule) == c.granule.name.description)
        #expect(r.value(.wxViolations) == "0")
    }
}

extension ModuleBoots {
    /// `slide link-module` lays a module out in the kernel's pages: --page-size, else the --kernel
    /// Image header's; a base off that page, a page size the header contradicts, or one that is no
    /// granule's, is refused with the reason.
    @Test func linkModuleTakesTheKernelsPage() throws {
        let dir = try #require(try moduleBuild())
        let ko = dir.appendingPathComponent("hello.ko").path
        let elf16 = repoRoot.appendingPathComponent(".build/kernel/rela-16k/slide-kernel.elf").path
        func pageSize(_ args: [String]) throws -> String? {
            let r = try slide(["link-module", ko, "--json"] + args)
            #expect(r.status == 0, "\(r.stderr)")
            return try jsonObject(r.stdout)["page_size"] as? String
        }
        #expect(try pageSize(["--at", "0xffff800000004000", "--kernel", elf16]) == "0x4000")
        #expect(try pageSize(["--at", "0xffff800000010000", "--undefined-at", "0xffff800000800000", "--page-size", "65536"]) == "0x10000")
        #expect(try pageSize(["--at", "0xffff800000001000", "--undefined-at", "0xffff800000800000"]) == "0x1000")
        let off = try slide(["link-module", ko, "--at", "0xffff800000001000", "--kernel", elf16])
        #expect(off.status == 1 && off.stderr.contains("module base 0xffff800000001000 is not 16384-byte aligned"), "\(off.stderr)")
        let contradicts = try slide(["link-module", ko, "--at", "0xffff800000010000", "--kernel", elf16, "--page-size", "65536"])
        #expect(contradicts.status == 1 && contradicts.stderr.contains("its Image header says 16384-byte pages, not --page-size 65536"), "\(contradicts.stderr)")
        let odd = try slide(["link-module", ko, "--at", "0xffff800000010000", "--undefined-at", "0", "--page-size", "8192"])
        #expect(odd.status == 64 && odd.stderr.contains("--page-size 8192: give 4096, 16384 or 65536"), "\(odd.stderr)")
    }
}

@Suite(.enabled(if: TestData.slideKernel, TestData.missingKernel)) struct ExportedSymbols {
    /// The ksymtab read from the ELF (inspect, link-module --kernel) and from the flat Image (as the
    /// kernel reads it) names every exported symbol at its llvm-nm address, sorted; lookups bisect.
    @Test func ksymtabMatchesTheSymbolTable() throws {
        let nm = try kernelSymbols("rela")
        let exports = try exportedSymbols("rela")
        #expect(Set(exports.map(\.section)) == ["__ksymtab"])
        let listed = try String(contentsOf: repoRoot.appendingPathComponent("Kernel/Late/ksymtab.S"), encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("    export  ") }.map { String($0.split(separator: " ").last!) }
        #expect(exports.map(\.name) == listed.sorted())
        for e in exports { #expect(nm[e.name] == e.address, "\(e.name)") }
        // Lookups bisect: every name is found, a missing one is not.
        let image = try readBytes(try #require(try kernelImage("rela")))
        let k = try KernelImage.load(path: try #require(try kernelImage("rela")))
        try image.withUnsafeBytes { raw in
            let table = try KernelSymbolTable(memory: ByteView(raw), address: k.linkBase, tableOffset: Int(nm["__start___ksymtab"]! - k.linkBase),
                                              tableSize: Int(nm["__stop___ksymtab"]! - nm["__start___ksymtab"]!))
            #expect(try table.isSorted())
            for e in exports {
                let found = Array(e.name.utf8).withUnsafeBytes { table.lookup(ByteView($0)) }
                #expect(found == e.address)
            }
            #expect(Array("slide_missing".utf8).withUnsafeBytes { table.lookup(ByteView($0)) } == nil)
        }
        // The CLI: inspect lists them; link-module --kernel needs an ELF (or a raw Image whose kallsyms names the tables), and one source of symbols.
        let elf = repoRoot.appendingPathComponent(".build/kernel/rela/slide-kernel.elf").path
        let doc = try jsonObject(try slide("inspect", elf, "--json").stdout)
        #expect((doc["exports"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == exports.map(\.name))
        let ko = repoRoot.appendingPathComponent(".build/kernel/modules/hello.ko").path
        let raw = try slide("link-module", ko, "--at", "0xffff800000000000", "--kernel", try #require(try kernelImage("rela")))
        #expect(raw.status == 1 && raw.stderr.contains("exports are found through kallsyms' names for the __ksymtab bounds") && raw.stderr.contains("give the kernel's ELF"), "\(raw.stderr)")
        let both = try slide("link-module", ko, "--at", "0xffff800000000000", "--kernel", elf, "--undefined-at", "0")
        #expect(both.status == 64 && both.stderr.contains("exactly one of --kernel, --symbols and --undefined-at"))
    }
}

@Suite(.enabled(if: TestData.moduleBuild, TestData.missingKernel)) struct CPIOReader {
    /// The initrd GNU cpio made: the same members (`cpio -t`) and contents.
    @Test func readsWhatGnuCpioWrote() throws {
        let dir = try #require(try moduleBuild())
        let path = dir.appendingPathComponent("initrd.cpio").path
        let listed = try output("sh", ["-c", "cpio --quiet -t < '\(path)'"]).split(separator: "\n").map(String.init)
        let bytes = try readBytes(path)
        var names: [String] = [], files: [String: [UInt8]] = [:]
        try bytes.withUnsafeBytes { raw in
            try CPIOArchive(ByteView(raw)).forEach { m in
                names.append(String(m.name))
                if m.isRegularFile { files[String(m.name)] = Array(UnsafeRawBufferPointer(start: m.data.base, count: m.data.count)) }
                return true
            }
        }
        #expect(names == listed)
        #expect(files["lib/modules/hello.ko"] == (try readBytes(dir.appendingPathComponent("hello.ko").path)))
        // Every truncation is a clean error or a clean stop, never a trap.
        for cut in stride(from: 0, to: bytes.count, by: 37) {
            let prefix = Array(bytes[..<cut])
            _ = prefix.withUnsafeBytes { raw in try? CPIOArchive(ByteView(raw)).forEach { _ in true } }
        }
        let bad = Array("070701zzzzzzzz".utf8) + [UInt8](repeating: 0x30, count: 120)
        #expect(throws: SlideError.self) { try bad.withUnsafeBytes { raw in try CPIOArchive(ByteView(raw)).forEach { _ in true } } }
    }
}

@Suite(.enabled(if: TestData.moduleBuild, TestData.missingKernel)) struct ModuleFaults {
    /// An initrd with a module that calls a symbol the kernel does not export, a truncated module and
    /// a good one: the kernel reports each bad module with its reason, loads the good one, and boots on.
    @Test func badModulesAreReportedAndSkipped() throws {
        let dir = try #require(try moduleBuild()), image = try #require(try kernelImage("rela"))
        let work = temporaryDirectory("module-faults")
        let root = work.appendingPathComponent("initrd")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let source = work.appendingPathComponent("unknown.c").path, object = work.appendingPathComponent("unknown.o").path
        try """
            extern void slide_no_such_function(void);
            int init_module(void) { slide_no_such_function(); return 0; }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-O2", "-ffreestanding", "-fno-pic", "-c", source, "-o", object]).status == 0)
        #expect(try run("ld.lld", ["-r", "-T", repoRoot.appendingPathComponent("Kernel/modules/module.lds").path, object,
                                   "-o", root.appendingPathComponent("unknown.ko").path]).status == 0)
        let hello = try readBytes(dir.appendingPathComponent("hello.ko").path)
        try Data(hello.prefix(hello.count / 2)).write(to: root.appendingPathComponent("truncated.ko"))
        try Data(hello).write(to: root.appendingPathComponent("zhello.ko"))
        let initrd = work.appendingPathComponent("initrd.cpio").path
        #expect(try run("sh", ["-c", "cd '\(root.path)' && ls | LC_ALL=C sort | cpio --quiet -o -H newc > '\(initrd)'"]).status == 0)

        var o = BootOptions()
        o.seed = 0x600d; o.initrd = initrd; o.timeout = 90
        let r = try Booter.boot(image, o)
        #expect(!r.timedOut && r.status == 0, "\(r.output.suffix(2000))")
        #expect(r.value(.initrd) == "cpio:3")
        #expect(r.output.contains("slide: module=truncated error=section header table at 0x"), "\(r.output.suffix(3000))")
        #expect(r.output.contains("slide: module=unknown error=undefined-symbol:slide_no_such_function section=.text offset=0x"), "\(r.output.suffix(3000))")
        #expect(r.output.contains("slide: module=zhello base=") && r.output.contains(" init=ok"))
        #expect(r.value(.modulesLoaded) == "1")
        #expect(r.value(.wxViolations) == "0")
        #expect(r.output.contains("slide: done"))
    }
}
