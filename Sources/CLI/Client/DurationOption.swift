import Foundation
import ArgumentParser

/// A duration option such as `30s`, `500ms`, `2m` or a bare number of seconds.
struct DurationOption: ExpressibleByArgument, Sendable {
    let duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("", 1)]
        for unit in units where text.hasSuffix(unit.suffix) {
            guard let value = Double(text.dropLast(unit.suffix.count)), value > 0, value.isFinite else { continue }
            duration = .milliseconds(Int64((value * unit.seconds * 1000).rounded()))
            return
        }
        return nil
    }
}
