// The UEFI services the EFI stub calls (UEFI Specification 2.10): the tables' layouts by offset
// and each service as a @convention(c) function pointer read from its table (AArch64 UEFI calls
// follow AAPCS64, §2.3.6). Before relocation like the rest of Kernel/Early/, but under the
// firmware's identity map with caches on (§2.3.6.1), before ExitBootServices.

typealias EFIStatus = UInt64

enum EFIStatusCode {
    static let success: EFIStatus = 0
    /// Errors have the top bit set (Appendix D).
    static func error(_ code: UInt64) -> EFIStatus { 1 << 63 | code }
    static let invalidParameter = error(2), bufferTooSmall = error(5)
    static let outOfResources = error(9), notFound = error(14), loadError = error(1)
}

/// EFI_ALLOCATE_TYPE (§7.2 AllocatePages()).
enum EFIAllocateType: UInt32 { case anyPages = 0, maxAddress = 1, address = 2 }

typealias EFIAllocatePages = @convention(c) (UInt32, UInt32, UInt64, UnsafeMutablePointer<UInt64>) -> EFIStatus
typealias EFIGetMemoryMap = @convention(c) (UnsafeMutablePointer<UInt64>, UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt64>,
                                            UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt32>) -> EFIStatus
typealias EFIHandleProtocol = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> EFIStatus
typealias EFILocateProtocol = @convention(c) (UnsafeRawPointer, UnsafeRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> EFIStatus
typealias EFIExitBootServices = @convention(c) (UnsafeMutableRawPointer?, UInt64) -> EFIStatus
typealias EFIOutputString = @convention(c) (UnsafeMutableRawPointer, UnsafePointer<UInt16>) -> EFIStatus
typealias EFILocateDevicePath = @convention(c) (UnsafeRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> EFIStatus
typealias EFILoadFile = @convention(c) (UnsafeMutableRawPointer, UnsafeMutableRawPointer?, UInt8, UnsafeMutablePointer<UInt64>, UnsafeMutableRawPointer?) -> EFIStatus
typealias EFIGetRNG = @convention(c) (UnsafeMutableRawPointer, UnsafeRawPointer?, UInt64, UnsafeMutableRawPointer) -> EFIStatus

/// EFI_SYSTEM_TABLE and EFI_BOOT_SERVICES, by offset (§4.3, §4.4: a 24-byte header, then one
/// pointer per field in the order the specification lists them).
struct EFIFirmware {
    let imageHandle: UnsafeMutableRawPointer?
    let systemTable: UnsafeRawPointer
    let bootServices: UnsafeRawPointer

    /// Nil when the system table lacks its signature ("IBI SYST") or boot services.
    init?(imageHandle: UInt64, systemTable: UInt64) {
        guard let st = UnsafeRawPointer(bitPattern: UInt(systemTable)), st.load(as: UInt64.self) == 0x5453_5953_2049_4249,
              let bs = UnsafeRawPointer(bitPattern: st.load(fromByteOffset: 96, as: UInt.self)) else { return nil }
        self.imageHandle = UnsafeMutableRawPointer(bitPattern: UInt(imageHandle))
        self.systemTable = st
        bootServices = bs
    }

    func service<F>(_ index: Int, as: F.Type) -> F { bootServices.load(fromByteOffset: 24 + 8 * index, as: F.self) }

    func allocatePages(_ type: EFIAllocateType, _ memoryType: EFIMemoryType, pages: UInt64, _ address: inout UInt64) -> EFIStatus {
        service(2, as: EFIAllocatePages.self)(type.rawValue, memoryType.rawValue, pages, &address)
    }

    /// GetMemoryMap into `buffer` of `capacity` bytes: (status, map size, key, descriptor size, version).
    func memoryMap(_ buffer: UnsafeMutableRawPointer, capacity: UInt64) -> (EFIStatus, size: UInt64, key: UInt64, descriptorSize: UInt64, version: UInt32) {
        var size = capacity, key: UInt64 = 0, descriptorSize: UInt64 = 0, version: UInt32 = 0
        let status = service(4, as: EFIGetMemoryMap.self)(&size, buffer, &key, &descriptorSize, &version)
        return (status, size, key, descriptorSize, version)
    }

    func handleProtocol(_ guid: EFIGUID) -> UnsafeMutableRawPointer? { handleProtocol(guid, on: imageHandle) }

    func locateProtocol(_ guid: EFIGUID) -> UnsafeMutableRawPointer? {
        var g = guid, interface: UnsafeMutableRawPointer? = nil
        let status = withUnsafeBytes(of: &g) { service(37, as: EFILocateProtocol.self)($0.baseAddress!, nil, &interface) }
        return status == EFIStatusCode.success ? interface : nil
    }

    /// The handle LocateDevicePath finds for `protocol` on `path` (a device path in memory), and
    /// the rest of the path past the part it matched (what LoadFile2 takes as its FilePath).
    func locateDevicePath(_ protocolGUID: EFIGUID, _ path: UnsafeMutableRawPointer) -> (handle: UnsafeMutableRawPointer, rest: UnsafeMutableRawPointer)? {
        var g = protocolGUID, p: UnsafeMutableRawPointer? = path, handle: UnsafeMutableRawPointer? = nil
        let status = withUnsafeBytes(of: &g) { service(20, as: EFILocateDevicePath.self)($0.baseAddress!, &p, &handle) }
        guard status == EFIStatusCode.success, let handle, let p else { return nil }
        return (handle, p)
    }

    /// The protocol `guid` on `handle` (HandleProtocol), or nil.
    func handleProtocol(_ guid: EFIGUID, on handle: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        var g = guid, interface: UnsafeMutableRawPointer? = nil
        let status = withUnsafeBytes(of: &g) { service(16, as: EFIHandleProtocol.self)(handle, $0.baseAddress!, &interface) }
        return status == EFIStatusCode.success ? interface : nil
    }

    func exitBootServices(mapKey: UInt64) -> EFIStatus { service(26, as: EFIExitBootServices.self)(imageHandle, mapKey) }

    /// The configuration table entry with `guid` (§4.6: NumberOfTableEntries at 104, the array at 112, 24 bytes each).
    func configurationTable(_ guid: EFIGUID) -> UInt64? {
        let count = systemTable.load(fromByteOffset: 104, as: UInt64.self)
        guard let table = UnsafeRawPointer(bitPattern: systemTable.load(fromByteOffset: 112, as: UInt.self)) else { return nil }
        for i in 0..<Int(min(count, 4096)) where EFIGUID(at: table + 24 * i) == guid {
            return table.load(fromByteOffset: 24 * i + 16, as: UInt64.self)
        }
        return nil
    }

    /// 8 bytes from EFI_RNG_PROTOCOL.GetRNG with the default algorithm (§37.5), or nil.
    func randomSeed() -> UInt64? {
        guard let rng = locateProtocol(.rng) else { return nil }
        var seed: UInt64 = 0
        let getRNG = rng.load(fromByteOffset: 8, as: EFIGetRNG.self)
        let status = withUnsafeMutableBytes(of: &seed) { getRNG(rng, nil, 8, $0.baseAddress!) }
        return status == EFIStatusCode.success ? seed : nil
    }

    /// Writes `s` then `value` in hex (0 = none) and CR LF to ConOut (§12.4 OutputString, UCS-2).
    func say(_ s: StaticString, _ value: UInt64? = nil) {
        guard let conOut = UnsafeMutableRawPointer(bitPattern: systemTable.load(fromByteOffset: 64, as: UInt.self)) else { return }
        var line = InlineArray<96, UInt16>(repeating: 0)
        var n = 0
        for i in 0..<min(s.utf8CodeUnitCount, 70) { line[n] = UInt16(s.utf8Start[i]); n += 1 }
        if let value {
            line[n] = 0x30; line[n + 1] = 0x78; n += 2
            for shift in stride(from: 60, through: 0, by: -4) {
                let d = UInt16((value >> UInt64(shift)) & 0xf)
                line[n] = d < 10 ? 0x30 + d : 0x57 + d; n += 1
            }
        }
        line[n] = 13; line[n + 1] = 10
        let output = conOut.load(fromByteOffset: 8, as: EFIOutputString.self)
        withUnsafeBytes(of: &line) { _ = output(conOut, $0.baseAddress!.assumingMemoryBound(to: UInt16.self)) }
    }
}
