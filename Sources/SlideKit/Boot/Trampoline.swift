/// The direct loader's trampoline: `ldr x0-x3, =values; ldr x4, =entry; br x4` and its literal pool.
enum Trampoline {
    static func code(x0: UInt64, x1: UInt64, x2: UInt64, x3: UInt64, entry: UInt64) -> [UInt8] {
        var words: [UInt32] = []
        let literals = [x0, x1, x2, x3, entry]
        let poolStart = 8 // instructions: 5 loads, br, 2 padding → the pool at byte 32 (8-aligned)
        for (reg, _) in literals.enumerated() {
            let pc = words.count * 4, target = poolStart * 4 + reg * 8
            words.append(0x5800_0000 | UInt32((target - pc) / 4) << 5 | UInt32(reg))  // ldr x<reg>, literal
        }
        words.append(0xd61f_0080)   // br x4
        words.append(0xd503_201f)   // nop
        words.append(0xd503_201f)   // nop
        var bytes: [UInt8] = []
        for w in words { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: w >> (8 * UInt32(i)))) } }
        for v in literals { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        return bytes
    }
}
