// The verdict on one boot: its report against what the host computes for the same inputs —
// KASLRPredictor (`slide kaslr`), PageTableReport (`slide pagetables`), ModuleLinker (`slide
// link-module`) and SlideKASLR — and the invariants of the boot tests.

import SlideCore
import SlideKit

/// Python-style repr of a report value, for the failure lines: 'value' or None.
func repr(_ s: String?) -> String { s.map { "'\($0)'" } ?? "None" }

struct Verdict {
    var fails: [String] = []
    mutating func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
        if !condition { fails.append(what()) }
    }
}

final class Judge {
    let p: Params
    let v: Variant
    let facts: Facts
    let r: BootResult
    var verdict = Verdict()

    init(_ p: Params, _ v: Variant, _ facts: Facts, _ r: BootResult) {
        self.p = p; self.v = v; self.facts = facts; self.r = r
    }

    func value(_ key: BootReportKey) -> String? { r.value(key) }
    func number(_ key: BootReportKey) -> UInt64? { r.value(key).flatMap(Numbers.parse) }

    func expect(_ condition: Bool, _ what: @autoclosure () -> String) { verdict.expect(condition, what()) }
    func eq(_ key: BootReportKey, _ want: String) { eq(key.name.description, want) }
    func eq(_ key: String, _ want: String) {
        let got = r.value(key)
        verdict.expect(got == want, "\(key)=\(repr(got)), expected \(repr(want))")
    }

    func judge() throws -> [String] {
        expect(r.status == 0, r.timedOut ? "no exit within \(Int(Soak.bootTimeout)) s" : "exit status \(r.status)")
        expect(r.output.contains(BootReportKey.done.description), "no '\(BootReportKey.done)'")
        guard r.status == 0, !r.timedOut, let pa = number(.pa) else { return verdict.fails }
        guard let cpu = QEMUCPU.named(r.cpu) else { return verdict.fails + ["--cpu '\(r.cpu)' has no KASLR model"] }
        var args = SlideBootArgs()
        args.nokaslr = p.kaslr == .nokaslr
        args.physicalOff = p.kaslr == .physOff
        let source = SlideKASLR.seedSource(args, fdtSeed: p.seed ?? 0, cpuHasRNDR: cpu.features.rndr).name.description
        eq(.seedSource, source)
        judgeFixedKeys()
        let offset = number(.offset) ?? 0
        try judgeLayout(pa: pa, offset: offset)
        if let problem = judgePrediction(cpu: cpu, source: source, pa: pa, offset: offset) { return verdict.fails + [problem] }
        try judgeModules(source: source, offset: offset)
        return verdict.fails
    }

    /// The report's keys whose values follow from the parameters alone.
    func judgeFixedKeys() {
        eq(.relocVerify, "ok")
        eq(.wxViolations, "0")
        eq(.extableTest, "ok")
        eq(.extableFixups, "2")
        eq(.cpusListed, String(p.smp))
        eq(.cpusOnline, String(p.smp))
        expect(value(.cpusErrors) == nil, "cpus_errors=\(value(.cpusErrors) ?? "")")
        eq(.relocsRela, String(v.rela))
        eq(.relocsRelr, String(v.relr))
        eq(.fdtSeedWiped, p.seed != nil ? "yes" : "no")
        let regs = p.registers ?? (0, 0, 0)
        eq(.x1X3, regs == (0, 0, 0) ? "zero" : "nonzero:\(hex(regs.0)),\(hex(regs.1)),\(hex(regs.2))")
        eq(.granule, v.granuleName.uppercased())
    }

    /// The linear map, and where the kernel runs physically and virtually.
    func judgeLayout(pa: UInt64, offset: UInt64) throws {
        let map = try facts.linearMap(memoryMiB: p.memoryMiB, granule: v.granule)
        eq(.linearMap, map.summary)
        eq(.physOffset, hex(map.physOffset))
        if p.loader == .efi {
            judgeEFIStub()
        } else {
            let load = p.loadAddress
            eq(.physFrom, hex(load))
            expect(ImageAlignment.misalignment(pa) == ImageAlignment.misalignment(load),
                   "pa \(hex(pa)) keeps the load address's offset in \(sizeText(ImageAlignment.kernel))")
            eq(.physMoved, pa != load ? "yes" : "no")
        }
        // The kernel runs where its link base plus the offset says.
        eq(.va, hex(v.landmarks.text &+ offset))
        eq(.kimageVoffset, hex(v.landmarks.text &+ offset &- pa))
    }

    /// An EFI boot's physical placement: the stub's slot beside SlideEFIModel for the seed the
    /// RNG file gave and the conventional ranges the kernel reported (`slide boot --loader efi`'s check).
    func judgeEFIStub() {
        let rows = SlideEFIBoot.compare(r, imageSize: v.imageSize, granule: v.granule, rngBytes: p.rngBytes,
                                        commandLine: p.kaslr == .nokaslr ? "nokaslr" : p.kaslr == .physOff ? "kaslr.phys=0" : "")
        expect(!rows.isEmpty, "loader=\(repr(value(.loader))), not the EFI stub's report")
        for row in rows { expect(row.agree, "\(row.what): \(row.printed), predicted \(row.predicted)") }
        if p.seeded && p.kaslr != .physOff {
            expect((number(.efiCandidates) ?? 0) > 0, "the EFI stub had candidates")
        }
    }

    /// slide kaslr for the same inputs and the ranges the kernel reported avoiding; a problem that
    /// stops the judging is returned.
    func judgePrediction(cpu: QEMUCPU, source: String, pa: UInt64, offset: UInt64) -> String? {
        var q = KASLRQuery()
        q.seed = p.seed ?? 0
        q.cpu = cpu
        // Under EFI the kernel starts where the stub put it and moves no further.
        q.loadPA = p.loader == .efi ? pa : p.loadAddress
        q.memory = [(BootOptions.ramBase, UInt64(p.memoryMiB) << 20)]
        q.commandLine = p.kaslr == .nokaslr ? "nokaslr" : p.kaslr == .physOff ? "kaslr.phys=0" : ""
        var reserved: [String] = []
        if let fdt = value(.fdt), let size = value(.fdtSize) { reserved.append("\(fdt):\(size)") }
        for range in (value(.physReserved) ?? "none").split(separator: ",") where range != "none" {
            reserved.append(range.replacingOccurrences(of: "+", with: ":"))
        }
        for text in reserved {
            do throws(Numbers.Problem) { q.reserved.append(try Numbers.rangeValue(text)) } catch {
                return "reserved range: \(error.description)"
            }
        }
        let k: KASLRPrediction
        do throws(SlideKitError) { k = try KASLRPredictor.predict(v.kernel, q) } catch {
            return "slide kaslr: \(error.description)"
        }
        expect(k.seedSource == source, "slide kaslr seed_source \(k.seedSource)")
        if source == "rndr" {
            // The CPU's random number: unpredictable, but on the KASLR lattice for this PA.
            let inRange: Bool
            if case .within(let low, let high) = k.offset { inRange = ImageAlignment.down(offset) >= low && ImageAlignment.down(offset) <= high } else { inRange = false }
            expect(ImageAlignment.misalignment(offset) == ImageAlignment.misalignment(pa) && inRange,
                   "rndr offset \(hex(offset)) in range \(k.offset.text)")
        } else {
            // Under EFI the physical slot is the stub's (judgeEFIStub); the virtual layout is the kernel's own.
            let physical: [(BootReportKey, Predicted)] = p.loader == .efi ? []
                : [(.pa, k.physicalAddress), (.physCandidates, .exact(k.physicalCandidates ?? 0))]
            let predicted: [(BootReportKey, Predicted)] = [(.offset, k.offset), (.moduleBase, k.moduleBase)] + physical
            for (key, want) in predicted {
                let got = value(key)
                let wantText = key == .physCandidates ? String(k.physicalCandidates ?? 0) : want.text
                expect(got != nil && number(key) == want.exact, "\(key.name)=\(got ?? "None"), slide kaslr predicts \(wantText)")
            }
        }
        if p.seeded && p.kaslr != .physOff && p.loader != .efi {
            expect((number(.physCandidates) ?? 0) > 0, "physical randomization had candidates")
        }
        return nil
    }

    /// No initrd, or the example module judged whole (on every granule).
    func judgeModules(source: String, offset: UInt64) throws {
        if !p.initrd {
            eq(.initrd, "none")
            eq(.moduleMap, "rx:0,r:0,rw:0")
            eq(.moduleCounter, "0")
        } else {
            try judgeModule(source: source, offset: offset, load: p.loadAddress)
        }
    }

    func judgeModule(source: String, offset: UInt64, load: UInt64) throws {
        let m = try facts.module(), g = v.granule, page = g.pageSize
        expect(value(.initrd) == "cpio:3", "initrd=\(value(.initrd) ?? "None")")
        expect(value(.modulesLoaded) == "1", "modules_loaded=\(value(.modulesLoaded) ?? "None")")
        let line = value(.module) ?? ""
        var fields: [String: String] = [:]
        for f in line.split(separator: " ").dropFirst() {
            if let eq = f.firstIndex(of: "=") { fields[String(f[..<eq])] = String(f[f.index(after: eq)...]) }
        }
        expect(line.hasPrefix("hello ") && fields["init"] == "ok", "module=\(repr(line))")
        guard let baseText = fields["base"] else { return }
        guard let at = Numbers.parse(baseText) else { expect(false, "module base=\(baseText) is not a number"); return }
        if source == "fdt", let seed = p.seed {
            let (off, base, module) = predictedModule(p, v, seed: seed, m)
            expect(off == offset, "the seed search's offset \(hex(off)) is the kernel's \(hex(offset))")
            expect(value(.moduleBase) == hex(base), "module_base=\(value(.moduleBase) ?? "None"), the seed search predicts \(hex(base))")
            expect(at == module, "module at \(hex(at)), predicted \(hex(module))")
            if p.place == .overImage {
                let end = v.landmarks.end &+ offset
                expect(at >= end && at - end < page && at % page == 0, "over the image: placed just past it")
            }
        } else if source == "none" || source == "nokaslr" {
            let l = v.landmarks
            let want = SlideKASLR.moduleBase(.none, seed: 0, stext: l.stext &+ offset, etext: l.etext &+ offset, end: l.end &+ offset, granule: g)
            expect(number(.moduleBase) == want, "module_base=\(value(.moduleBase) ?? "None"), not randomized: \(hex(want))")
        }
        // The host links the same module at the same address against the kernel's exported symbols
        // (`slide link-module --kernel ELF --kernel-offset OFFSET`, its vermagic and CRC checks too).
        let compatibility = try ModuleCompatibility.check(module: m.bytes, path: m.ko, kernel: v.elfKernel, exports: v.exports)
        for problem in compatibility.problems { expect(false, "link-module: \(problem)") }
        var o = ModuleLinkOptions()
        o.base = at
        o.granule = g
        for e in v.exports { o.symbols[e.name] = e.address &+ offset }
        let host = try ModuleLinker.link(m.bytes, name: ModuleFiles.name(m.ko), path: m.ko, o)
        for failure in host.failures { expect(false, "link-module: \(failure)") }
        let (pltCore, pltInit) = (host.pltUsed.core, host.pltUsed.initial)
        let digest = { (bytes: [UInt8]) in bytes.withUnsafeBytes { ImageDigest.compute(ByteView($0)) } }
        let want = "core:\(hex(at))+\(hex(m.core(g))),init:\(hex(at &+ m.core(g)))+\(hex(m.initSize(g))),"
            + "plts_core:\(pltCore),plts_init:\(pltInit),relocs:\(host.relocationCount),"
            + "digest:\(hex(digest(host.core)))/\(hex(digest(host.initRegion)))"
        let detail = BootReportKey.moduleDetail("hello")
        expect(r.value(detail) == want, "\(detail)=\(repr(r.value(detail))), the host links \(repr(want))")
        expect(fields["plts"] == String(pltCore + pltInit), "plts=\(fields["plts"] ?? "None"), the host uses \(pltCore)+\(pltInit)")
        if p.place == .inRange { expect(pltCore + pltInit == 0, "in range: no PLT") }
        if p.place == .outOfRange { expect(pltCore > 0 && pltInit > 0, "out of range: core and init both call through PLTs") }
        expect(value(.helloSays) == "hello from a module", "hello_says=\(value(.helloSays) ?? "None")")
        expect(value(.helloChecks) == "0x0", "hello_checks=\(value(.helloChecks) ?? "None")")
        expect(value(.moduleCounter) == "2", "module_counter=\(value(.moduleCounter) ?? "None")")
        let freed = BootReportKey.moduleInitFreed("hello")
        expect(r.value(freed) == String(m.initSize(g) / page), "init_freed=\(r.value(freed) ?? "None")")
        var mm: [String: Int] = [:]
        for part in (value(.moduleMap) ?? "rx:0,r:0,rw:0").split(separator: ",") {
            let kv = part.split(separator: ":")
            if kv.count == 2 { mm[String(kv[0])] = Int(kv[1]) }
        }
        let parts = ["rx", "r", "rw"].map { mm[$0] ?? 0 }
        expect(parts.allSatisfy { $0 >= 1 } && UInt64(mm.values.reduce(0, +)) == m.core(g) / page,
               "module_map=\(value(.moduleMap) ?? "None"): the core's pages, each part mapped")
    }
}
