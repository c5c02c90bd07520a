// Follows a relocation routine's registers through its code, on every path, without running it.
//
// Table discovery must read the bounds a kernel's own relocation routine uses, whatever the
// routine's shape: head.S loads them from a literal pool (5.x) or with ADRP/ADD (6.1–6.8); the
// compiled C `relocate_kernel` of 6.9+ keeps them in whatever registers the compiler chose and
// may set the RELR bounds in a block after the loop that uses them. So this is a small abstract
// interpreter over A64: from a function's first instruction it walks every branch (each
// instruction once, on the first path that reaches it, which is the path into a loop), keeps
// in each register a value of the form `constant [+ image base] [+ entry value of register r]`
// and where it was loaded from, and records the events recognizers look for: loads, compares,
// bit tests, adds and pointer advances, MOVZ/MOVK constants, and the control-flow edges.
//
// Values: a PC-relative address (ADR/ADRP) is an image offset (`pcRelative`), because the tracer
// runs the code as if image byte 0 were at address 0. A literal-pool load reads the word from the
// image. A register nobody wrote holds its value at entry (`entry`), which is how head.S's x23
// (the relocation offset) and relocate_kernel's x0 (its argument) are told apart.

import SlideCore

struct TracedValue: Equatable {
    struct Sources: OptionSet, Equatable {
        let rawValue: UInt8
        static let literal = Sources(rawValue: 1)      // a word read from a literal pool
        static let pcRelative = Sources(rawValue: 2)   // ADR/ADRP
        static let wide = Sources(rawValue: 4)         // MOVZ/MOVN/MOVK
        static let entry = Sources(rawValue: 8)        // a register's value at entry
    }
    /// The known part of the value (wrapping arithmetic).
    var constant: UInt64
    /// The value also includes the image's run-time base: `constant` is then an image offset.
    var pcRelative = false
    /// The value also includes the entry value of this register.
    var entry: Int? = nil
    var sources: Sources = []
    /// The MOVZ/MOVK-built constant summed into this value, if any (head.S's KIMAGE_VADDR).
    var wideConstant: UInt64? = nil

    static func entryValue(of register: Int) -> TracedValue { TracedValue(constant: 0, entry: register, sources: .entry) }

    /// Same symbolic part: their difference is a known constant.
    func isSameKind(as other: TracedValue) -> Bool { pcRelative == other.pcRelative && entry == other.entry }

    /// A register's entry value and nothing else.
    var pureEntry: Int? { constant == 0 && !pcRelative ? entry : nil }

    func adding(_ k: UInt64) -> TracedValue { var v = self; v.constant &+= k; return v }

    func adding(_ other: TracedValue) -> TracedValue? {
        guard !(pcRelative && other.pcRelative), entry == nil || other.entry == nil else { return nil }
        return TracedValue(constant: constant &+ other.constant, pcRelative: pcRelative || other.pcRelative,
                           entry: entry ?? other.entry, sources: sources.union(other.sources),
                           wideConstant: wideConstant ?? other.wideConstant)
    }
}

/// Where a register's value was loaded from: `size` bytes at `base + offset`, `base` being the
/// value `baseRegister` held at the load.
struct LoadOrigin: Equatable {
    var baseRegister: Int
    var base: TracedValue
    var offset: Int64
    var size: Int
    var pc: Int
    /// The loaded address, when the base is known: base + offset.
    var address: TracedValue { base.adding(UInt64(bitPattern: offset)) }
}

struct TracedRegister: Equatable {
    var value: TracedValue?
    var origin: LoadOrigin?
    static let unknown = TracedRegister(value: nil, origin: nil)
}

enum TraceEvent {
    case load(pc: Int, origin: LoadOrigin, destination: Int)
    /// CMP/CMN Rn, #imm (SUBS/ADDS with the zero register).
    case compareImmediate(pc: Int, register: Int, operand: TracedRegister, imm: UInt64)
    /// CMP Xn, Xm.
    case compareRegisters(pc: Int, rn: Int, rm: Int, a: TracedValue?, b: TracedValue?)
    /// Xn += by (ADD/SUB immediate onto itself, or a load/store write-back).
    case advance(pc: Int, register: Int, by: Int64)
    /// ADD Xd, Xn, Xm: the two operands as they were.
    case add(pc: Int, a: TracedRegister, b: TracedRegister)
    /// TBZ/TBNZ Rt, #bit.
    case testBit(pc: Int, operand: TracedRegister, bit: Int)
    /// A MOVZ/MOVN(+MOVK…) sequence finished building `value`.
    case wideConstant(pc: Int, value: UInt64)

    var pc: Int {
        switch self {
        case .load(let pc, _, _), .compareImmediate(let pc, _, _, _), .compareRegisters(let pc, _, _, _, _),
             .advance(let pc, _, _), .add(let pc, _, _), .testBit(let pc, _, _), .wideConstant(let pc, _): return pc
        }
    }
}

struct CodeTrace {
    /// Image offset of the first instruction traced.
    let start: Int
    var events: [TraceEvent] = []
    /// Control-flow successors of every instruction visited.
    var successors: [Int: [Int]] = [:]
    var instructions: Int { successors.count }
    /// Lowest and highest instruction visited.
    var span: ClosedRange<Int> { (successors.keys.min() ?? start)...(successors.keys.max() ?? start) }

    /// The most instructions one trace visits: a relocation routine has well under a hundred.
    static let instructionLimit = 1024

    /// Traces from `start` (an image offset) over `data`, the image as the boot code sees it.
    static func run(_ data: ByteView, from start: Int) -> CodeTrace {
        var trace = CodeTrace(start: start)
        struct State { var pc: Int; var regs: [TracedRegister]; var pendingWide: (register: Int, pc: Int)? }
        var regs = [TracedRegister](repeating: .unknown, count: 32)
        for r in 0..<31 { regs[r] = TracedRegister(value: .entryValue(of: r), origin: nil) }
        var work = [State(pc: start, regs: regs, pendingWide: nil)]
        var next = 0
        while next < work.count, trace.successors.count < instructionLimit {
            var s = work[next]; next += 1
            while trace.successors[s.pc] == nil, s.pc >= 0, s.pc + 4 <= data.count, trace.successors.count < instructionLimit {
                let pc = s.pc
                let insn = A64Instruction(data.u32Unchecked(at: pc))
                if let p = s.pendingWide, !insn.isMovk(into: p.register) {
                    if let v = s.regs[p.register].value { trace.events.append(.wideConstant(pc: p.pc, value: v.constant)) }
                    s.pendingWide = nil
                }
                var successors: [Int] = []
                var fallsThrough = true
                trace.step(insn, pc: pc, data: data, regs: &s.regs, pendingWide: &s.pendingWide)
                switch insn {
                case .branch(let target):
                    successors = [pc + Int(target)]; fallsThrough = false
                case .conditionalBranch(let target), .compareBranch(_, let target), .testBranch(_, _, let target):
                    successors = [pc + Int(target)]
                case .returnOrIndirect:
                    fallsThrough = false
                case .branchLink, .indirectCall:
                    // The callee may change every caller-saved register (AAPCS64 §6.1.1).
                    for r in 0...18 { s.regs[r] = .unknown }
                    s.regs[30] = .unknown
                default: break
                }
                if fallsThrough { successors.insert(pc + 4, at: 0) }
                trace.successors[pc] = successors
                for target in successors.dropFirst() where trace.successors[target] == nil {
                    work.append(State(pc: target, regs: s.regs, pendingWide: nil))
                }
                guard fallsThrough || !successors.isEmpty else { break }
                s.pc = successors[0]
            }
        }
        return trace
    }

    /// Applies one instruction to `regs`, recording its events.
    private mutating func step(_ insn: A64Instruction, pc: Int, data: ByteView, regs: inout [TracedRegister],
                               pendingWide: inout (register: Int, pc: Int)?) {
        // The registers and events move into the step and back (swapped, not copied).
        var s = Step(pc: pc)
        swap(&s.regs, &regs); swap(&s.events, &events)
        defer { swap(&s.regs, &regs); swap(&s.events, &events) }
        switch insn {
        case .adrp, .adr, .addImmediate, .addRegister, .moveRegister: s.arithmetic(insn)
        case .moveWide(let kind, let rd, let imm16, let shift, let is64):
            guard rd != 31 else { break }
            s.moveWide(kind, rd, imm16: imm16, shift: shift, is64: is64)
            pendingWide = (rd, pc)
        case .loadLiteral, .load, .loadPair: s.load(insn, data: data)
        case .storeWriteback(let rn, let offset, _):
            s.advance(rn, offset)
        case .testBranch(let rt, let bit, _):
            s.events.append(.testBit(pc: pc, operand: s.regs[rt], bit: bit))
        case .other(let writes, let pair, let base):
            s.set(writes, nil)
            if let pair { s.set(pair, nil) }
            if let base { s.set(base, nil) }
        case .branch, .branchLink, .conditionalBranch, .compareBranch, .returnOrIndirect, .indirectCall:
            break
        }
    }

    /// The instructions on a cycle through `pc`: those `pc` reaches that also reach `pc`.
    func loop(through pc: Int) -> Set<Int> {
        var forward: Set<Int> = [pc], stack = [pc]
        while let p = stack.popLast() {
            for s in successors[p] ?? [] where successors[s] != nil && !forward.contains(s) { forward.insert(s); stack.append(s) }
        }
        var predecessors: [Int: [Int]] = [:]
        for (p, ss) in successors { for s in ss { predecessors[s, default: []].append(p) } }
        var backward: Set<Int> = [pc]
        stack = [pc]
        while let p = stack.popLast() {
            for q in predecessors[p] ?? [] where !backward.contains(q) { backward.insert(q); stack.append(q) }
        }
        return forward.intersection(backward)
    }
}

/// One instruction's effect on the registers, and the events it records (CodeTrace.step).
private struct Step {
    let pc: Int
    var regs: [TracedRegister] = []
    var events: [TraceEvent] = []

    init(pc: Int) { self.pc = pc }

    mutating func set(_ r: Int, _ v: TracedValue?, origin: LoadOrigin? = nil) {
        guard r != 31 else { return }
        regs[r] = TracedRegister(value: v, origin: origin)
    }

    func value(_ r: Int) -> TracedValue? { r == 31 ? nil : regs[r].value }

    /// A 32-bit result: a known constant keeps its low half; a symbolic value is lost.
    func truncated(_ v: TracedValue?, _ is64: Bool) -> TracedValue? {
        guard let v, !is64 else { return v }
        guard !v.pcRelative, v.entry == nil else { return nil }
        var t = v; t.constant &= 0xffff_ffff; return t
    }

    mutating func advance(_ r: Int, _ by: Int64) {
        guard r != 31 else { return }
        events.append(.advance(pc: pc, register: r, by: by))
        regs[r] = TracedRegister(value: regs[r].value?.adding(UInt64(bitPattern: by)), origin: nil)
    }

    mutating func load(_ rt: Int, base rn: Int, offset: Int64, size: Int) {
        guard rn != 31 || rt != 31 else { return }
        if rn != 31, let base = regs[rn].value {
            let origin = LoadOrigin(baseRegister: rn, base: base, offset: offset, size: size, pc: pc)
            events.append(.load(pc: pc, origin: origin, destination: rt))
            set(rt, nil, origin: origin)
        } else {
            set(rt, nil)
        }
    }

    /// ADRP, ADR, ADD/SUB (immediate and register), MOV (register).
    mutating func arithmetic(_ insn: A64Instruction) {
        switch insn {
        case .adrp(let rd, let pageDelta):
            set(rd, TracedValue(constant: UInt64(bitPattern: Int64(pc & ~0xfff) &+ pageDelta), pcRelative: true, sources: .pcRelative))
        case .adr(let rd, let delta):
            set(rd, TracedValue(constant: UInt64(bitPattern: Int64(pc) &+ delta), pcRelative: true, sources: .pcRelative))
        case .addImmediate(let rd, let rn, let imm, let subtract, let setFlags, let is64):
            let delta = subtract ? 0 &- imm : imm
            if setFlags && rd == 31 {
                events.append(.compareImmediate(pc: pc, register: rn, operand: rn == 31 ? .unknown : regs[rn], imm: imm))
            } else if rd == rn && rd != 31 && is64 {
                advance(rd, Int64(bitPattern: delta))
            } else {
                set(rd, truncated(value(rn)?.adding(delta), is64))
            }
        case .addRegister(let rd, let rn, let rm, let subtract, let setFlags, let is64):
            addRegister(rd: rd, rn: rn, rm: rm, subtract: subtract, setFlags: setFlags, is64: is64)
        case .moveRegister(let rd, let rm, let is64):
            set(rd, rm == 31 ? TracedValue(constant: 0) : truncated(regs[rm].value, is64), origin: rm == 31 ? nil : regs[rm].origin)
        default:
            break
        }
    }

    /// ADD/SUB (shifted register): CMP Xn, Xm is an event, ADD a sum of what is known.
    mutating func addRegister(rd: Int, rn: Int, rm: Int, subtract: Bool, setFlags: Bool, is64: Bool) {
        if setFlags && rd == 31 && subtract {
            events.append(.compareRegisters(pc: pc, rn: rn, rm: rm, a: value(rn), b: rm == 31 ? TracedValue(constant: 0) : value(rm)))
        } else if !subtract && !setFlags {
            let a = rn == 31 ? TracedRegister.unknown : regs[rn], b = rm == 31 ? TracedRegister(value: TracedValue(constant: 0)) : regs[rm]
            events.append(.add(pc: pc, a: a, b: b))
            set(rd, a.value.flatMap { x in b.value.flatMap { x.adding($0) } }.flatMap { truncated($0, is64) })
        } else if subtract && !setFlags, let a = value(rn), let b = rm == 31 ? TracedValue(constant: 0) : value(rm),
                  b.entry == nil, !b.pcRelative {
            set(rd, truncated(a.adding(0 &- b.constant), is64))
        } else {
            set(rd, nil)
        }
    }

    /// MOVZ, MOVN, MOVK into `rd` (not the zero register).
    mutating func moveWide(_ kind: A64Instruction.MoveWideKind, _ rd: Int, imm16: UInt64, shift: UInt64, is64: Bool) {
        let mask: UInt64 = is64 ? ~0 : 0xffff_ffff
        switch kind {
        case .movz: set(rd, TracedValue(constant: imm16 << shift, sources: .wide))
        case .movn: set(rd, TracedValue(constant: ~(imm16 << shift) & mask, sources: .wide))
        case .movk:
            if let v = value(rd), !v.pcRelative, v.entry == nil {
                set(rd, TracedValue(constant: (v.constant & ~(0xffff << shift) | imm16 << shift) & mask, sources: .wide))
            } else {
                set(rd, nil)
            }
        }
        if var v = regs[rd].value { v.wideConstant = v.constant; regs[rd].value = v }
    }

    /// LDR (literal) reads the image; LDR and LDP record where they load from.
    mutating func load(_ insn: A64Instruction, data: ByteView) {
        switch insn {
        case .loadLiteral(let rt, let delta, let size, let signed):
            let at = pc + Int(delta)
            var v: UInt64? = nil
            if at >= 0, at + size <= data.count {
                v = size == 8 ? data.u64Unchecked(at: at) : UInt64(data.u32Unchecked(at: at))
                if signed, let x = v { v = UInt64(bitPattern: Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: x)))) }
            }
            set(rt, v.map { TracedValue(constant: $0, sources: .literal) })
        case .load(let rt, let rn, let offset, let size, let writeback):
            switch writeback {
            case .none: load(rt, base: rn, offset: offset, size: size)
            case .post: load(rt, base: rn, offset: 0, size: size); if rt != rn { advance(rn, offset) }
            case .pre: advance(rn, offset); load(rt, base: rn, offset: 0, size: size)
            }
        case .loadPair(let rt1, let rt2, let rn, let offset, let writeback):
            loadPair(rt1, rt2, rn, offset: offset, writeback: writeback)
        default:
            break
        }
    }

    /// LDP Xt1, Xt2: two loads from one base, then the write-back.
    mutating func loadPair(_ rt1: Int, _ rt2: Int, _ rn: Int, offset: Int64, writeback: A64Instruction.Writeback) {
        let at: Int64 = writeback == .post ? 0 : offset
        if writeback == .pre { advance(rn, offset) }
        let base = rn == 31 ? nil : regs[rn]
        func pairLoad(_ rt: Int, _ extra: Int64) {
            guard let b = base?.value else { set(rt, nil); return }
            let origin = LoadOrigin(baseRegister: rn, base: b, offset: (writeback == .pre ? 0 : at) + extra, size: 8, pc: pc)
            events.append(.load(pc: pc, origin: origin, destination: rt))
            set(rt, nil, origin: origin)
        }
        pairLoad(rt1, 0); pairLoad(rt2, 8)
        if writeback == .post && rn != rt1 && rn != rt2 { advance(rn, offset) }
    }
}

extension A64Instruction {
    func isMovk(into register: Int) -> Bool {
        if case .moveWide(.movk, let rd, _, _, _) = self { return rd == register }
        return false
    }
}
