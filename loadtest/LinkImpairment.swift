import ArgumentParser
import DFSOptions

/// What the tool's TCP proxy does to one node's link: a fixed one-way delay (`--delay node-2=50ms`) and
/// random stalls before responses start (`--stall node-2=200ms@10%`).
struct LinkImpairment: Sendable, Equatable, CustomStringConvertible {
    var oneWayDelay: Duration = .zero
    var stall: Duration = .zero
    /// Share of responses (0…1) held back by `stall` before their first byte.
    var stallProbability: Double = 0

    var description: String {
        var parts: [String] = []
        if oneWayDelay > .zero { parts.append("\(oneWayDelay) one-way delay") }
        if stallProbability > 0 { parts.append("\(stall) stalls on \(Int((stallProbability * 100).rounded()))% of responses") }
        return parts.joined(separator: ", ")
    }

    /// Merges `--delay` and `--stall` into one impairment per node number.
    static func parse(delays: String?, stalls: String?) throws -> [Int: LinkImpairment] {
        var impairments: [Int: LinkImpairment] = [:]
        for (node, value) in try entries(delays, option: "--delay", shape: "node-N=DURATION") {
            guard let delay = DurationArgument(argument: value)?.duration else {
                throw ValidationError("--delay value '\(value)' is not a duration such as 50ms")
            }
            impairments[node, default: LinkImpairment()].oneWayDelay = delay
        }
        for (node, value) in try entries(stalls, option: "--stall", shape: "node-N=DURATION@PERCENT%") {
            let parts = value.split(separator: "@")
            guard parts.count == 2, let stall = DurationArgument(argument: String(parts[0]))?.duration,
                parts[1].hasSuffix("%"), let percent = Double(parts[1].dropLast()), percent > 0, percent <= 100
            else { throw ValidationError("--stall value '\(value)' is not DURATION@PERCENT%, e.g. 200ms@10%") }
            impairments[node, default: LinkImpairment()].stall = stall
            impairments[node, default: LinkImpairment()].stallProbability = percent / 100
        }
        return impairments
    }

    /// `node-2=50ms,node-3=10ms` → [(2, "50ms"), (3, "10ms")].
    private static func entries(_ text: String?, option: String, shape: String) throws -> [(Int, String)] {
        guard let text else { return [] }
        return try text.split(separator: ",").map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].hasPrefix("node-"), let node = Int(parts[0].dropFirst(5)), node >= 1 else {
                throw ValidationError("\(option) entry '\(entry)' is not \(shape)")
            }
            return (node, String(parts[1]))
        }
    }
}
