// Running qemu-system-aarch64: finding it on PATH, and one run with a timeout and a scripted
// console (U-Boot's prompt).

import Foundation

enum QEMUProcess {
    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }


    struct Run { var output: String; var status: Int32; var timedOut: Bool }

    /// Runs `tool`, answering each (prompt, reply) of `script` in order as the prompt appears.
    static func run(_ tool: String, _ args: [String], timeout: Double, script: [(String, String)] = []) throws(SlideKitError) -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = input
        do { try p.run() } catch { throw SlideKitError(tool, "cannot start: \(error)") }
        let fd = out.fileHandleForReading.fileDescriptor
        var output = [UInt8]()
        var step = 0, searchFrom = 0
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 100)
            if ready > 0 {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                output += buffer[0..<n]
                while step < script.count {
                    let text = String(decoding: output[searchFrom...], as: UTF8.self)
                    guard let range = text.range(of: script[step].0) else { break }
                    searchFrom += text[..<range.upperBound].utf8.count
                    usleep(100_000)
                    input.fileHandleForWriting.write(Data(script[step].1.utf8))
                    step += 1
                }
            }
            if Date() > deadline {
                // QEMU may not honour SIGTERM while its CPU thread spins: SIGKILL after a grace period.
                timedOut = true
                p.terminate()
                for _ in 0..<20 where p.isRunning { usleep(100_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            if !p.isRunning && ready == 0 { break }
        }
        p.waitUntilExit()
        return Run(output: String(decoding: output, as: UTF8.self), status: timedOut ? -1 : p.terminationStatus, timedOut: timedOut)
    }
}
