// Checking an Image's seal on the host, with the same SlideCore digest the kernel computes.

import SlideCore

public enum SealCheck {
    /// "ok: ..." when the seal is present and matches; otherwise why not.
    public static func check(_ k: KernelImage) throws(SlideKitError) -> String {
        try k.bytes.withView { (v) throws(SlideKitError) -> String in
            var o = ImageHeader.size
            while o + ImageSeal.size <= min(v.count, k.dataSize) {
                if let seal = ImageSeal(from: v, at: o) {
                    guard seal.covered == UInt64(k.dataSize) else {
                        return "mismatch: covers \(hex(seal.covered)) bytes, image data is \(hex(UInt64(k.dataSize)))"
                    }
                    let digest = ImageDigest.compute(v, covered: k.dataSize, sealOffset: o)
                    return digest == seal.digest ? "ok: seal at \(hex(UInt64(o))), digest \(hex(digest))"
                        : "mismatch: digest \(hex(digest)), sealed \(hex(seal.digest))"
                }
                o += 8
            }
            return "absent"
        }
    }
}
