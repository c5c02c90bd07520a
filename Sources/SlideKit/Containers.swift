// Recognising and unpacking the containers arm64 kernels ship in.
//
// A kernel file is one of: an ELF (vmlinux), a raw Image ("ARM\x64" at 0x38), a gzip stream
// holding an Image (Image.gz), or an EFI zboot PE ("MZ" + "zimg" at 4; payload offset at 0x08,
// size at 0x0c, compression name at 0x18) whose payload holds the Image. Unpacking repeats
// until something other than a container is left; the chain is reported.

import CZlib
import SlideCore

public enum Containers {
    /// Unpacks containers until an ELF or raw Image remains. Returns the bytes and the chain
    /// of containers removed, outermost first (`["efi-zboot(gzip)"]`, `["gzip"]`).
    public static func unpack(_ bytes: [UInt8], path: String) throws(SlideKitError) -> ([UInt8], [String]) {
        var current = bytes
        var chain: [String] = []
        for _ in 0..<4 {
            if isGzip(current) {
                current = try gunzip(current, path: path)
                chain.append("gzip")
            } else if let (payload, method) = try zbootPayload(current, path: path) {
                guard method == "gzip" else {
                    throw SlideKitError(path, "EFI zboot payload is compressed with '\(method)'; only gzip is supported (unpack it first)")
                }
                current = try gunzip(payload, path: path)
                chain.append("efi-zboot(gzip)")
            } else {
                return (current, chain)
            }
        }
        throw SlideKitError(path, "containers nested more than 4 deep")
    }

    static func isGzip(_ b: [UInt8]) -> Bool { b.count >= 18 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 }

    /// The compressed payload of an EFI zboot image, with its compression name.
    static func zbootPayload(_ b: [UInt8], path: String) throws(SlideKitError) -> ([UInt8], String)? {
        guard b.count >= 0x40, b[0] == 0x4d, b[1] == 0x5a, b[4] == 0x7a, b[5] == 0x69, b[6] == 0x6d, b[7] == 0x67 else {
            return nil
        }
        do throws(SlideError) {
            let v = b.withUnsafeBytes { ByteView($0) }
            let offset = try v.u32(at: 8), size = try v.u32(at: 12)
            guard UInt64(offset) + UInt64(size) <= UInt64(b.count) else {
                throw SlideError.truncated("EFI zboot payload", offset: UInt64(offset), size: UInt64(size), available: UInt64(b.count))
            }
            // The name field is NUL-padded: stop at the first NUL.
            let nameEnd = b[0x18..<0x38].firstIndex(of: 0) ?? 0x38
            let name = String(decoding: b[0x18..<nameEnd], as: UTF8.self)
            return (Array(b[Int(offset)..<Int(offset + size)]), name.isEmpty ? "unknown" : name)
        } catch {
            throw SlideKitError(path, error)
        }
    }

    /// Inflates a gzip stream (zlib with gzip framing). Trailing data after the stream is ignored.
    public static func gunzip(_ input: [UInt8], path: String) throws(SlideKitError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + 15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SlideKitError(path, "cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        output.reserveCapacity(input.count * 3)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let limit = 1 << 32 // no real kernel inflates past 4 GiB: stop a decompression bomb
        var status: Int32 = Z_OK
        var mutableInput = input
        mutableInput.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: outBuf[0..<(outBuf.count - Int(stream.avail_out))])
                }
            } while status == Z_OK && output.count < limit && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard status == Z_STREAM_END else {
            if output.count >= limit { throw SlideKitError(path, "gzip stream inflates past 4 GiB") }
            let reason = status == Z_OK || status == Z_BUF_ERROR ? "truncated" : "corrupt (zlib status \(status))"
            throw SlideKitError(path, "gzip stream is \(reason) after \(output.count) bytes of output")
        }
        return output
    }
}
