// Checking an Image's seal on the host: SlideCore's ImageSeal.verify, the check the kernel runs.

import SlideCore

public enum SealCheck {
    /// "ok: ..." when the seal is present and matches; otherwise why not ("absent", "mismatch: ...").
    public static func check(_ k: KernelImage) throws(SlideKitError) -> String {
        k.bytes.withUnsafeBytes { raw in
            switch ImageSeal.find(in: ByteView(raw), dataSize: k.dataSize) {
            case nil: "absent"
            case (let o, .ok(let seal))?: "ok: seal at \(hex(UInt64(o))), digest \(hex(seal.digest))"
            case (_, .sizeMismatch(let covered, let size))?: "mismatch: covers \(hex(covered)) bytes, image data is \(hex(size))"
            case (_, .digestMismatch(let computed, let sealed))?: "mismatch: digest \(hex(computed)), sealed \(hex(sealed))"
            }
        }
    }
}
