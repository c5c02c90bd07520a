// The newc cpio reader (SlideCore/Archive/CPIO.swift), as the Slide kernel walks its initrd.

import FuzzSupport
import SlideCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withAlignedCopy(data, size) { raw in
        do throws(SlideError) {
            let archive = try CPIOArchive(ByteView(UnsafeRawBufferPointer(raw)))
            try archive.forEach { m in
                sink(String(m.name))
                sink(UInt64(m.data.count) ^ UInt64(m.mode))
                // The member's bytes must lie in the input: ASan checks these reads.
                if m.isRegularFile, m.data.count > 0, let b = m.data.base { sink(UInt64(b.load(fromByteOffset: m.data.count - 1, as: UInt8.self))) }
                return true
            }
        } catch {
            sink(error)
        }
    }
    return 0
}
