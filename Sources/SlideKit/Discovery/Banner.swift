// The `Linux version` banner of a raw Image.

import Foundation
import SlideCore

extension ByteView {
    /// The `Linux version …` banner (linux_banner in init/version.c), up to its newline. The
    /// "Linux version %s" format strings elsewhere in the image are skipped: a banner goes on
    /// with a digit.
    func linuxBanner(limit: Int) -> String? {
        let needle = Array("Linux version ".utf8)
        let end = min(limit, count)
        guard let base, end >= needle.count else { return nil }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        var from = 0
        while from + needle.count <= end {
            // memchr finds each "L" at C speed; only those are compared.
            guard let hit = memchr(bytes + from, Int32(needle[0]), end - needle.count + 1 - from) else { return nil }
            let start: Int = UnsafeRawPointer(hit) - base
            from = start + 1
            guard memcmp(bytes + start, needle, needle.count) == 0 else { continue }
            var stop = start + needle.count
            guard stop < end, (0x30...0x39).contains(bytes[stop]) else { continue }
            while stop < end, stop - start < 512, bytes[stop] != 0x0a, bytes[stop] != 0 { stop += 1 }
            return String(decoding: UnsafeBufferPointer(start: bytes + start, count: stop - start), as: UTF8.self)
        }
        return nil
    }
}
