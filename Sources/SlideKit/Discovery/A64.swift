// The A64 instructions table discovery follows (Arm ARM DDI 0487, C4.1 "A64 instruction set
// encoding"), decoded into one enum.
//
// Only what relocation routines use is modelled: PC-relative addresses, immediates, register
// moves and adds, loads with their addressing modes, compares and branches. Every other word is
// `.other`, with the register it may write (bits 0-4) so a tracer can forget it. Decoding never
// traps: any 32-bit word decodes to something. Register 31 is SP or XZR as the Arm ARM says; the
// tracer treats it as "not tracked".

import SlideCore

enum A64Instruction: Equatable {
    /// ADRP Xd, label: Xd = (PC & ~0xfff) + pageDelta (C6.2.11).
    case adrp(rd: Int, pageDelta: Int64)
    /// ADR Xd, label: Xd = PC + delta (C6.2.10).
    case adr(rd: Int, delta: Int64)
    /// ADD/SUB (immediate), 32 or 64 bits, flag-setting or not (C4.1.86). CMP/CMN are SUBS/ADDS with rd = 31.
    case addImmediate(rd: Int, rn: Int, imm: UInt64, subtract: Bool, setFlags: Bool, is64: Bool)
    /// ADD/SUB (shifted register) with shift amount 0 (C4.1.95). CMP Xn, Xm is SUBS XZR, Xn, Xm.
    case addRegister(rd: Int, rn: Int, rm: Int, subtract: Bool, setFlags: Bool, is64: Bool)
    /// MOVN (kind 0), MOVZ (kind 2), MOVK (kind 3), 32 or 64 bits (C4.1.86 "Move wide"); `shift` in bits.
    case moveWide(kind: MoveWideKind, rd: Int, imm16: UInt64, shift: UInt64, is64: Bool)
    /// MOV Xd, Xm / MOV Wd, Wm (ORR with the zero register, C6.2.221).
    case moveRegister(rd: Int, rm: Int, is64: Bool)
    /// LDR (literal): Wt (4 bytes, zero-extended), Xt (8), LDRSW (4, sign-extended) from PC + delta (C6.2.167).
    case loadLiteral(rt: Int, delta: Int64, size: Int, signed: Bool)
    /// LDR/LDUR/LDRB…(immediate): `size` bytes at [Xn + offset]; `writeback` adds `offset` to Xn after
    /// (post-index, offset 0 at the access) or before (pre-index) the access.
    case load(rt: Int, rn: Int, offset: Int64, size: Int, writeback: Writeback)
    /// LDP Xt1, Xt2 (64-bit pair).
    case loadPair(rt1: Int, rt2: Int, rn: Int, offset: Int64, writeback: Writeback)
    /// A store with write-back changes its base register only.
    case storeWriteback(rn: Int, offset: Int64, pre: Bool)
    case branch(target: Int64)                       // B (relative to PC)
    case branchLink(target: Int64)                   // BL
    case conditionalBranch(target: Int64)            // B.cond
    case compareBranch(rt: Int, target: Int64)       // CBZ/CBNZ
    case testBranch(rt: Int, bit: Int, target: Int64) // TBZ/TBNZ
    case returnOrIndirect                            // RET, BR, ERET
    case indirectCall                                // BLR
    /// Anything else; `writes` is the register it may write (bits 0-4), and `writesPair` a second (bits 10-14) for pairs.
    case other(writes: Int, writesPair: Int?, writebackBase: Int?)

    enum MoveWideKind: Equatable { case movn, movz, movk }
    enum Writeback: Equatable { case none, pre, post }

    /// Decodes `w`; the groups are tried in order, the first match wins.
    init(_ w: UInt32) {
        self = Self.dataProcessing(w) ?? Self.loadStore(w) ?? Self.branch(w) ?? Self.otherWrite(w)
    }

    // Immediates come from SlideCore's `A64Fields`, the readers beside the writers relocations use.

    /// PC-relative addresses, add/sub, move wide, register moves.
    private static func dataProcessing(_ w: UInt32) -> A64Instruction? {
        let rd = Int(w & 31), rn = Int((w >> 5) & 31), rm = Int((w >> 16) & 31)
        let is64 = w >> 31 == 1
        switch w {
        case _ where w & 0x9f00_0000 == 0x9000_0000:
            return .adrp(rd: rd, pageDelta: A64Fields.adrImm(w) << 12)
        case _ where w & 0x9f00_0000 == 0x1000_0000:
            return .adr(rd: rd, delta: A64Fields.adrImm(w))
        case _ where w & 0x1f80_0000 == 0x1100_0000: // add/sub immediate; sh (bit 22) shifts imm12 by 12
            let imm = A64Fields.imm12(w) << ((w >> 22) & 1 == 1 ? 12 : 0)
            return .addImmediate(rd: rd, rn: rn, imm: imm, subtract: (w >> 30) & 1 == 1, setFlags: (w >> 29) & 1 == 1, is64: is64)
        case _ where w & 0x1fe0_fc00 == 0x0b00_0000: // add/sub shifted register, LSL #0
            return .addRegister(rd: rd, rn: rn, rm: rm, subtract: (w >> 30) & 1 == 1, setFlags: (w >> 29) & 1 == 1, is64: is64)
        case _ where w & 0x1f80_0000 == 0x1280_0000 && (w >> 29) & 3 != 1 && (is64 || (w >> 22) & 1 == 0):
            let kind: MoveWideKind = (w >> 29) & 3 == 0 ? .movn : (w >> 29) & 3 == 2 ? .movz : .movk
            return .moveWide(kind: kind, rd: rd, imm16: A64Fields.imm16(w), shift: A64Fields.hw(w) * 16, is64: is64)
        case _ where w & 0x7fe0_ffe0 == 0x2a00_03e0:
            return .moveRegister(rd: rd, rm: rm, is64: is64)
        default:
            return nil
        }
    }

    /// Loads the tracer follows, and stores that write back their base.
    private static func loadStore(_ w: UInt32) -> A64Instruction? {
        let rt = Int(w & 31), rn = Int((w >> 5) & 31), rt2 = Int((w >> 10) & 31)
        let size = 1 << Int(w >> 30)
        switch w {
        case _ where w & 0xbf00_0000 == 0x1800_0000 || w & 0xff00_0000 == 0x9800_0000: // LDR (literal) W/X, LDRSW
            return .loadLiteral(rt: rt, delta: A64Fields.imm19(w) * 4, size: w & 0xff00_0000 == 0x5800_0000 ? 8 : 4, signed: w >> 24 == 0x98)
        case _ where w & 0x3f40_0000 == 0x3940_0000: // LDR (unsigned offset), GPR, load (opc bit 22 set)
            return .load(rt: rt, rn: rn, offset: Int64(A64Fields.imm12(w)) * Int64(size), size: size, writeback: .none)
        case _ where w & 0x3f60_0000 == 0x3840_0000: // LDUR / LDR pre / post (imm9), GPR load
            let imm9 = A64Fields.imm9(w)
            switch (w >> 10) & 3 {
            case 0: return .load(rt: rt, rn: rn, offset: imm9, size: size, writeback: .none)
            case 1: return .load(rt: rt, rn: rn, offset: imm9, size: size, writeback: .post)
            case 3: return .load(rt: rt, rn: rn, offset: imm9, size: size, writeback: .pre)
            default: return .other(writes: rt, writesPair: nil, writebackBase: nil)
            }
        case _ where w & 0xfe40_0000 == 0xa840_0000: // LDP 64-bit: post (01), offset (10), pre (11)
            let mode = (w >> 23) & 3
            let wb: Writeback = mode == 1 ? .post : mode == 3 ? .pre : .none
            return mode == 0 ? .other(writes: rt, writesPair: rt2, writebackBase: nil)
                : .loadPair(rt1: rt, rt2: rt2, rn: rn, offset: A64Fields.imm7(w) * 8, writeback: wb)
        case _ where w & 0x3b60_0400 == 0x3800_0400 && (w >> 22) & 1 == 0: // STR imm9 pre/post
            return .storeWriteback(rn: rn, offset: A64Fields.imm9(w), pre: (w >> 11) & 1 == 1)
        case _ where w & 0x3a40_0000 == 0x2800_0000 && (w >> 23) & 1 == 1: // STP pre/post
            let scale: Int64 = w >> 31 == 1 ? 8 : 4
            return .storeWriteback(rn: rn, offset: A64Fields.imm7(w) * scale, pre: (w >> 24) & 1 == 1)
        default:
            return nil
        }
    }

    /// Branches: immediate, conditional, compare/test and branch, register.
    private static func branch(_ w: UInt32) -> A64Instruction? {
        switch w {
        case _ where w & 0x7c00_0000 == 0x1400_0000:
            let target = A64Fields.imm26(w) * 4
            return w >> 31 == 1 ? .branchLink(target: target) : .branch(target: target)
        case _ where w & 0xff00_0010 == 0x5400_0000:
            return .conditionalBranch(target: A64Fields.imm19(w) * 4)
        case _ where w & 0x7e00_0000 == 0x3400_0000:
            return .compareBranch(rt: Int(w & 31), target: A64Fields.imm19(w) * 4)
        case _ where w & 0x7e00_0000 == 0x3600_0000:
            return .testBranch(rt: Int(w & 31), bit: A64Fields.testBit(w), target: A64Fields.imm14(w) * 4)
        case _ where w & 0xfe1f_0000 == 0xd61f_0000: // unconditional branch (register): BLR{AA} call, BR/RET/ERET leave
            return (w >> 21) & 0x7 == 1 ? .indirectCall : .returnOrIndirect
        default:
            return nil
        }
    }

    /// Everything else, by the registers it may write.
    private static func otherWrite(_ w: UInt32) -> A64Instruction {
        let rd = Int(w & 31), rn = Int((w >> 5) & 31)
        switch w {
        case _ where w & 0x3e40_0000 == 0x2840_0000 || w & 0x3e40_0000 == 0x2c40_0000: // other load pairs
            return .other(writes: rd, writesPair: Int((w >> 10) & 31), writebackBase: (w >> 23) & 1 == 1 ? rn : nil)
        case _ where w & 0x3b20_0400 == 0x3800_0400 && (w >> 24) & 1 == 0: // other loads/stores with imm9 write-back
            return .other(writes: rd, writesPair: nil, writebackBase: rn)
        default:
            return .other(writes: rd, writesPair: nil, writebackBase: nil)
        }
    }
}
