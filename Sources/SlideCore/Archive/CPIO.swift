// The "newc" cpio archive (magic 070701, or 070702 with checksums): the format of Linux initramfs
// images (Documentation/driver-api/early-userspace/buffer-format.rst), and how the Slide kernel
// finds modules in its initrd.
//
// Each member: a 110-byte ASCII header (the magic, then 13 fields of 8 hex digits: ino, mode,
// uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check),
// the name with its NUL (namesize bytes), padding to 4, the data (filesize bytes), padding to 4.
// The member named "TRAILER!!!" ends the archive. Runs in the kernel: no allocation.

public struct CPIOArchive {
    public static let headerSize = 110
    public let bytes: ByteView

    public init(_ bytes: ByteView) throws(SlideError) {
        guard bytes.matches("070701", at: 0) || bytes.matches("070702", at: 0) else { throw .badMagic("cpio newc header", offset: 0) }
        self.bytes = bytes
    }

    public struct Member {
        /// The name without its NUL, the data, `c_mode` (file type in bits 15:12; 0o100000 = regular file).
        public var name: ByteView, data: ByteView, mode: UInt32
        public var isRegularFile: Bool { mode & 0o170000 == 0o100000 }
    }

    /// Calls `body` for each member up to the trailer; `body` returns false to stop.
    public func forEach(_ body: (Member) -> Bool) throws(SlideError) {
        var o = 0
        while true {
            guard bytes.contains(offset: o, size: Self.headerSize) else { throw .truncated("cpio header", offset: o, size: Self.headerSize, available: bytes.count) }
            guard bytes.matches("070701", at: o) || bytes.matches("070702", at: o) else { throw .badMagic("cpio newc header", offset: UInt64(o)) }
            let mode = try field(o, 1), fileSize = try field(o, 6), nameSize = try field(o, 11)
            guard nameSize >= 1 else { throw .invalid("cpio c_namesize", value: UInt64(nameSize)) }
            let name = try bytes.slice(offset: o + Self.headerSize, size: Int(nameSize) - 1, "cpio name")
            let dataStart = Self.pad4(o + Self.headerSize + Int(nameSize))
            let data = try bytes.slice(offset: dataStart, size: Int(fileSize), "cpio file data")
            if name.equals("TRAILER!!!") { return }
            guard body(Member(name: name, data: data, mode: mode)) else { return }
            o = Self.pad4(dataStart + Int(fileSize))
        }
    }

    static func pad4(_ v: Int) -> Int { (v + 3) & ~3 }

    /// Field `index` (0 = c_ino) of the header at `o`: 8 hex digits.
    func field(_ o: Int, _ index: Int) throws(SlideError) -> UInt32 {
        var v: UInt32 = 0
        let at = o + 6 + 8 * index
        for i in 0..<8 {
            let c = try bytes.u8(at: at + i)
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw .invalid("cpio header hex digit", value: UInt64(c))
            }
            v = v << 4 | UInt32(digit)
        }
        return v
    }
}
