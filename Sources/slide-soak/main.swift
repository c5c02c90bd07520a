// make soak: N boots of the Slide kernel under QEMU with parameters drawn from one master seed.
//
// Usage: slide-soak [N [MASTER]]    (N defaults to 200, MASTER to 64 random bits)
// Environment: KOUT (default .build/kernel), SOAK_OUT (default .build/soak). Each boot draws,
// from a SplitMix64 stream seeded by MASTER and its index (Draw.swift): the kernel (RELA/RELR x
// 4K/16K/64K pages, and RELA linked at another base), the loader (QEMU -kernel, U-Boot booti, EFI,
// direct), a load address valid for that loader (direct: any page of the kernel's granule, mostly
// not 2 MiB-aligned), the KASLR input (an FDT seed, a zero seed, none, nokaslr, kaslr.phys=0), the
// CPU model, 1-4 CPUs, the RAM size, x1-x3 (direct), and the initrd (none, or the example modules
// with the module placed in branch range of the kernel, out of it, or over the image). Each boot
// runs in process through SlideKit's Booter, and its report is checked against what the host
// computes for the same inputs with the code behind `slide kaslr`, `slide pagetables` and `slide
// link-module`, and the invariants of the boot tests (Judge.swift). Failures keep their
// parameters, the `slide boot` command line that replays them, the failed checks and the full
// output under SOAK_OUT/MASTER/fail-I.txt. The last line is `N boots, F failed`; the exit status
// is 1 if F > 0 (2 when the soak cannot start: a missing kernel variant, a bad argument).

import Foundation
import SlideCore
import SlideKit

enum Soak {
    /// Each boot's QEMU run is stopped after this many seconds (`slide boot --timeout`).
    static let bootTimeout: Double = 45
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("slide-soak: \(message)\n".utf8))
    exit(2)
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// `%#018x`.
func hex18(_ v: UInt64) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}

func leftAligned(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
func rightAligned(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }

/// A shell word, quoted when it needs to be (Python's shlex.quote).
func shellQuote(_ s: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
    if !s.isEmpty && s.allSatisfy({ safe.contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\"'\"'") + "'"
}

/// `slide boot` beside this executable (what `make soak` built), for the replay command line.
let slideTool: String = {
    let me = CommandLine.arguments[0]
    guard let slash = me.lastIndex(of: "/") else { return "slide" }
    return String(me[...slash]) + "slide"
}()

/// The `slide boot` command line that replays boot `p`.
func command(_ p: Params, _ v: Variant, _ facts: Facts) throws -> [String] {
    var args = [slideTool, "boot", v.image, "--loader", p.loader.rawValue, "--memory", String(p.memoryMiB), "--smp", String(p.smp),
                "--timeout", String(Int(Soak.bootTimeout))]
    if let at = p.at { args += ["--at", hex(at)] }
    if let cpu = p.cpu { args += ["--cpu", cpu] }
    if let seed = p.seed { args += ["--seed", hex(seed)] }
    if p.kaslr == .nokaslr { args += ["--nokaslr"] }
    if p.kaslr == .physOff { args += ["--append", "kaslr.phys=0"] }
    if p.initrd { args += ["--initrd", try facts.module().initrd] }
    if let x = p.registers { args += ["--registers", [x.0, x.1, x.2].map(hex).joined(separator: ",")] }
    if p.loader == .efi {
        args += ["--firmware", p.firmware.rawValue]
        args += try p.options(facts).rngFile.map { ["--rng-file", $0] } ?? ["--rng", "off"]
    }
    return args
}

/// One line's description of the parameters.
func describe(_ p: Params) -> String {
    var s = "\(leftAligned(p.variant, 8)) \(leftAligned(p.loader.rawValue, 6)) \(rightAligned(hex(p.loadAddress), 11)) "
        + "\(rightAligned(String(p.memoryMiB), 4))M smp\(p.smp) \(leftAligned(p.cpu ?? "a57", 3)) "
    let seed = p.seed.map(hex) ?? "None"
    switch p.kaslr {
    case .seed: s += "seed=\(seed)"
    case .physOff: s += "seed=\(seed),phys=0"
    case .zeroSeed: s += "seed=0"
    case .none: s += "no-seed"
    case .nokaslr: s += "nokaslr"
    }
    if p.registers != nil { s += " x1-x3" }
    if p.loader == .efi { s += " \(p.firmware.rawValue)" + (p.seed == nil ? " rng-off" : "") }
    if p.initrd { s += " module" + (p.place.map { "(\($0.rawValue))" } ?? "") }
    return s
}

/// The parameters as one line of JSON (seed and address in hex), for the failure file.
func parametersJSON(_ p: Params) -> String {
    func str(_ s: String?) -> String { s.map { "\"\($0)\"" } ?? "null" }
    let registers = p.registers.map { "[\($0.0), \($0.1), \($0.2)]" } ?? "null"
    let fields: [(String, String)] = [
        ("i", String(p.i)), ("variant", str(p.variant)), ("memory", String(p.memoryMiB)), ("smp", String(p.smp)), ("cpu", str(p.cpu)),
        ("loader", str(p.loader.rawValue)), ("kaslr", str(p.kaslr.rawValue)), ("seed", str(p.seed.map(hex))),
        ("initrd", str(p.initrd ? "modules" : nil)), ("registers", registers), ("at", str(p.at.map(hex))), ("place", str(p.place?.rawValue)),
    ]
    return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
}

// MARK: - The run

/// N and MASTER from the command line.
func arguments(_ argv: [String]) -> (n: Int, master: UInt64) {
    if argv.count > 2 || argv.contains(where: { $0 == "-h" || $0 == "--help" }) {
        fail("usage: slide-soak [N [MASTER]]   (N defaults to 200, MASTER to 64 random bits; env KOUT, SOAK_OUT)")
    }
    var n = 200
    if let first = argv.first, !first.isEmpty {
        guard let v = Int(first), v >= 0 else { fail("N: '\(first)' is not a number of boots") }
        n = v
    }
    var master = UInt64.random(in: .min ... .max)
    if argv.count > 1, !argv[1].isEmpty {
        guard let v = Numbers.parse(argv[1]) else { fail("MASTER: '\(argv[1])' is not a 64-bit number (0x-prefixed hex or decimal)") }
        master = v
    }
    return (n, master)
}

/// What one boot came to: the command that replays it, its exit, output and failed checks.
struct BootOutcome {
    var args: [String] = []
    var status: Int32 = -1
    var output = ""
    var fails: [String] = []
    var result: BootResult? = nil
}

/// One soak: the boots, their failure files, and the distribution of what was drawn.
struct SoakRun {
    let master: UInt64
    let facts: Facts
    /// Where failure files go: SOAK_OUT/MASTER.
    let out: String
    var failed = 0
    var distribution: [String: [String: Int]] = [:]
    static let keys = ["variant", "loader", "firmware", "granule", "kaslr", "smp", "memory", "cpu", "initrd", "place", "address", "registers"]

    /// Draws, runs and judges boot `i`, and says how it went.
    mutating func run(_ i: Int) {
        let p: Params, v: Variant
        do {
            p = try draw(i, master: master, facts: facts)
            v = try facts.variant(p.variant)
        } catch let e as SlideKitError {
            fail("\(e.description) (make kernel builds the variants and modules into KOUT)")
        } catch {
            // A draw that finds no valid parameters is a failed boot, not a crashed soak.
            failed += 1
            say("[\(rightAligned(String(i), 4))] FAIL (the draw: \(error))")
            try? "# soak master \(hex18(master)) boot \(i)\n# failed: the draw: \(error)\n".write(toFile: "\(out)/fail-\(i).txt", atomically: true, encoding: .utf8)
            return
        }
        let t0 = Date()
        let o = boot(p, v)
        let dt = Date().timeIntervalSince(t0)
        let verdict = o.fails.isEmpty ? "ok" : "FAIL (\(o.fails[0])\(o.fails.count > 1 ? "; +\(o.fails.count - 1) more" : ""))"
        let moved = o.result.flatMap { r in r.value(.pa).flatMap { r.value(.physMoved) == "yes" ? " pa=\($0)" : nil } } ?? ""
        say("[\(rightAligned(String(i), 4))] \(describe(p))\(moved) \(String(format: "%4.1f", dt))s \(verdict)")
        if !o.fails.isEmpty {
            failed += 1
            record(i, p, o)
        }
        tally(p, v)
    }

    /// Boots `p` through SlideKit's Booter and judges the report.
    func boot(_ p: Params, _ v: Variant) -> BootOutcome {
        var o = BootOutcome()
        do {
            o.args = try command(p, v, facts)
            let r = try Booter.boot(v.image, try p.options(facts))
            o.result = r
            o.status = r.timedOut ? -9 : r.status
            o.output = r.output + (r.timedOut ? "\n(soak: stopped after \(Int(Soak.bootTimeout)) s)\n" : "")
            let judge = Judge(p, v, facts, r)
            do {
                o.fails = try judge.judge()
            } catch {
                o.fails = judge.verdict.fails + ["judging raised: \(error)"]
            }
        } catch let e as SlideKitError {
            o.fails = ["slide boot: \(e.description)"]
            o.output += "slide: error: \(e.description)\n"
        } catch {
            o.fails = ["slide boot: \(error)"]
        }
        return o
    }

    /// SOAK_OUT/MASTER/fail-I.txt: the parameters, the replay command, the failed checks, the output.
    func record(_ i: Int, _ p: Params, _ o: BootOutcome) {
        var text = "# soak master \(hex18(master)) boot \(i)\n"
        text += "# parameters: \(parametersJSON(p))\n"
        text += "# command: \(o.args.map(shellQuote).joined(separator: " "))\n"
        text += "# exit status: \(o.status)\n"
        for f in o.fails { text += "# failed: \(f)\n" }
        text += "\n" + o.output
        do { try text.write(toFile: "\(out)/fail-\(i).txt", atomically: true, encoding: .utf8) } catch { say("soak: cannot write \(out)/fail-\(i).txt: \(error)") }
    }

    mutating func tally(_ p: Params, _ v: Variant) {
        func count(_ key: String, _ value: String) { distribution[key, default: [:]][value, default: 0] += 1 }
        count("variant", p.variant)
        count("loader", p.loader.rawValue)
        count("kaslr", p.kaslr.rawValue)
        count("smp", String(p.smp))
        count("memory", String(p.memoryMiB))
        count("initrd", p.initrd ? "modules" : "none")
        if p.initrd { count("place", p.place?.rawValue ?? "unseeded") }
        count("granule", v.granuleName)
        if p.loader == .direct { count("registers", p.registers != nil ? "x1-x3" : "zero") }
        if p.loader == .efi { count("firmware", p.firmware.rawValue + (p.seed == nil ? "/rng-off" : "/rng")) }
        count("cpu", p.cpu ?? "cortex-a57")
        let at = p.loadAddress
        count("address", p.loader == .qemu ? "qemu-fixed" : p.loader == .efi ? "firmware" : ImageAlignment.misalignment(at) == 0 ? "2M-aligned" : "2M-misaligned")
    }

    func summary(boots n: Int, wall: TimeInterval) {
        say("soak: master seed \(hex18(master)), \(String(format: "%.0f", wall)) s wall" + (failed > 0 ? "; failures in \(out)/fail-*.txt" : ""))
        for key in Self.keys {
            let c = distribution[key] ?? [:]
            say("  \(leftAligned(key, 8)) " + c.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }.map { "\($0.key):\($0.value)" }.joined(separator: ", "))
        }
        say("\(n) boots, \(failed) failed")
    }
}

func soak(_ argv: [String]) -> Int32 {
    let (n, master) = arguments(argv)
    let environment = ProcessInfo.processInfo.environment
    let out = (environment["SOAK_OUT"] ?? ".build/soak") + "/" + hex18(master)
    do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch { fail("\(out): \(error)") }
    var run = SoakRun(master: master, facts: Facts(kout: environment["KOUT"] ?? ".build/kernel"), out: out)
    say("soak: master seed \(hex18(master)) (\(n) boots; replay: make soak N=\(n) SEED=\(hex18(master)))")
    let started = Date()
    for i in 0..<n { run.run(i) }
    run.summary(boots: n, wall: Date().timeIntervalSince(started))
    return run.failed > 0 ? 1 : 0
}

exit(soak(Array(CommandLine.arguments.dropFirst())))
