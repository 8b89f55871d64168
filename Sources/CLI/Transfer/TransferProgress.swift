#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import Synchronization

/// A one-line progress display on stderr (`12.0 MiB / 64.0 MiB  18%  85.3 MB/s`), redrawn at most ten
/// times a second, and only when stderr is a terminal: scripts and logs get no carriage-return noise.
final class TransferProgress: Sendable {
    private struct State {
        var bytes: Int64 = 0
        var lastDraw: ContinuousClock.Instant?
        var widestLine = 0
    }

    private let label: String
    private let totalBytes: Int64?
    private let isVisible: Bool
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    init(label: String, totalBytes: Int64?, isVisible: Bool = isatty(STDERR_FILENO) != 0) {
        self.label = label
        self.totalBytes = totalBytes
        self.isVisible = isVisible
    }

    /// Counts `count` more bytes and redraws if the last draw is 100 ms old.
    func advance(by count: Int) {
        guard isVisible else { return }
        state.withLock { state in
            state.bytes += Int64(count)
            let now = ContinuousClock.now
            if let last = state.lastDraw, now - last < .milliseconds(100) { return }
            state.lastDraw = now
            draw(&state, now: now)
        }
    }

    /// Draws the final figures and ends the line.
    func finish() {
        guard isVisible else { return }
        state.withLock { state in
            draw(&state, now: .now)
            FileHandle.standardError.write(Data("\n".utf8))
        }
    }

    /// Clears the line (on failure, before an error message).
    func abandon() {
        guard isVisible else { return }
        state.withLock { state in
            FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: state.widestLine) + "\r").utf8))
        }
    }

    private func draw(_ state: inout State, now: ContinuousClock.Instant) {
        let elapsed = max(
            0.001, Double((now - started).components.seconds) + Double((now - started).components.attoseconds) / 1e18)
        let rate = Double(state.bytes) / elapsed / 1_000_000
        var line = "\(label) \(ByteCountText.binary(state.bytes))"
        if let totalBytes, totalBytes > 0 {
            let percent = Int(Double(state.bytes) * 100 / Double(totalBytes))
            line += " / \(ByteCountText.binary(totalBytes))  \(percent)%"
        }
        line += String(format: "  %.1f MB/s", rate)
        let padding = String(repeating: " ", count: max(0, state.widestLine - line.count))
        state.widestLine = max(state.widestLine, line.count)
        FileHandle.standardError.write(Data(("\r" + line + padding).utf8))
    }
}
