// The image as a whole: cut short, already relocated, or with an exception table the kernel
// could not use.

import SlideCore

struct TruncationCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        if let t = c.image.truncation { c.add(.error, "image-truncated", "the image is truncated: \(t)") }
    }
}

struct AlreadyRelocatedCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        if let r = c.image.alreadyRelocated {
            c.add(.error, "already-relocated", "the image was \(r): its places hold run-time values, not link-time ones")
        }
    }
}

/// docs/exception-table.md.
struct ExceptionTableCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) throws(SlideKitError) {
        if let (_, problem) = try c.image.exceptionTableCheck(), let problem {
            c.add(.error, "extable-invalid", "__ex_table: \(problem)")
        }
    }
}
