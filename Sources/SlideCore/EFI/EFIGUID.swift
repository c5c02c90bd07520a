// The GUIDs the Slide kernel's EFI stub looks up (UEFI Specification 2.10), as the two
// little-endian 64-bit words they are in memory (Data1 u32, Data2 u16, Data3 u16, Data4[8]).

public struct EFIGUID: Equatable, Sendable {
    public var low: UInt64, high: UInt64

    public init(low: UInt64, high: UInt64) { self.low = low; self.high = high }

    /// The GUID stored at `p` (8-byte aligned, as in EFI_CONFIGURATION_TABLE).
    public init(at p: UnsafeRawPointer) {
        low = UInt64(littleEndian: p.load(as: UInt64.self))
        high = UInt64(littleEndian: p.load(fromByteOffset: 8, as: UInt64.self))
    }

    /// EFI_LOADED_IMAGE_PROTOCOL_GUID, 5B1B31A1-9562-11d2-8E3F-00A0C969723B (§9.1).
    public static var loadedImage: EFIGUID { EFIGUID(low: 0x11d2_9562_5b1b_31a1, high: 0x3b72_69c9_a000_3f8e) }
    /// EFI_RNG_PROTOCOL_GUID, 3152bca5-eade-433d-862e-c01cdc291f44 (§37.5).
    public static var rng: EFIGUID { EFIGUID(low: 0x433d_eade_3152_bca5, high: 0x441f_29dc_1cc0_2e86) }
    /// EFI_DTB_TABLE_GUID, b1b621d5-f19c-41a5-830b-d9152c69aae0 (§4.6.1.3: the device tree blob
    /// in the configuration table; edk2 under QEMU installs one only with `-M virt,acpi=off`).
    public static var deviceTree: EFIGUID { EFIGUID(low: 0x41a5_f19c_b1b6_21d5, high: 0xe0aa_692c_15d9_0b83) }
    /// LINUX_EFI_INITRD_MEDIA_GUID, 5568e427-68fc-4f3d-ac74-ca555231cc68: the vendor media device
    /// path under which a loader offers the initrd through EFI_LOAD_FILE2 (Linux's
    /// include/linux/efi.h, 6.1; edk2's QemuKernelLoaderFsDxe installs it for QEMU's -initrd).
    public static var linuxInitrdMedia: EFIGUID { EFIGUID(low: 0x4f3d_68fc_5568_e427, high: 0x68cc_3152_55ca_74ac) }
    /// EFI_LOAD_FILE2_PROTOCOL_GUID, 4006c0c1-fcb3-403e-996d-4a6c8724e06d (§13.2).
    public static var loadFile2: EFIGUID { EFIGUID(low: 0x403e_fcb3_4006_c0c1, high: 0x6de0_2487_6c4a_6d99) }
}
