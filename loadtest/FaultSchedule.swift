import DFSLauncher
import Foundation

/// `--fault kill:node-2@10s,start:node-2@25s` — node faults at times since the run started, applied to a
/// cluster the tool spawned itself. Actions: kill (SIGKILL), stop (SIGTERM), start, pause (SIGSTOP), resume (SIGCONT).
struct FaultSchedule: Sendable {
    enum Action: String, Sendable, CaseIterable {
        case kill, stop, start, pause, resume
    }

    struct Fault: Sendable, CustomStringConvertible {
        let action: Action
        let node: Int
        let at: Duration
        var description: String { "\(action.rawValue):node-\(node)@\(at)" }
    }

    let faults: [Fault]

    init(faults: [Fault]) { self.faults = faults.sorted { $0.at < $1.at } }

    init(parsing text: String) throws {
        faults = try text.split(separator: ",").map { entry in
            let parts = entry.split(separator: "@")
            let head = parts.first?.split(separator: ":") ?? []
            guard parts.count == 2, head.count == 2, let action = Action(rawValue: String(head[0])),
                head[1].hasPrefix("node-"), let node = Int(head[1].dropFirst(5)), node >= 1,
                let at = DurationArgument(argument: String(parts[1]))?.duration
            else {
                throw FaultScheduleError(entry: String(entry))
            }
            return Fault(action: action, node: node, at: at)
        }.sorted { $0.at < $1.at }
    }

    /// Applies each fault at its time after `started` (the measured run's start); returns what was done and when.
    func run(on cluster: LocalCluster, startedAt started: ContinuousClock.Instant, log: @Sendable (String) -> Void) async -> [AppliedFault] {
        var applied: [AppliedFault] = []
        for fault in faults {
            let wait = started + fault.at - ContinuousClock.now
            if wait > .zero { try? await Task.sleep(for: wait) }
            if Task.isCancelled { break }
            let at = ContinuousClock.now - started
            do {
                switch fault.action {
                case .kill: _ = await cluster.stop(.node(fault.node), immediately: true)
                case .stop: _ = await cluster.stop(.node(fault.node))
                case .start: try await cluster.start(.node(fault.node))
                case .pause: try await cluster.pause(.node(fault.node))
                case .resume: try await cluster.resume(.node(fault.node))
                }
                applied.append(AppliedFault(fault, at: at, error: nil))
                log("fault applied: \(fault)")
            } catch {
                applied.append(AppliedFault(fault, at: at, error: "\(error)"))
                log("fault \(fault) failed: \(error)")
            }
        }
        return applied
    }
}

/// A fault as it happened: when it was applied (seconds after the measured run started) and whether it worked.
struct AppliedFault: Codable, Sendable, Equatable {
    var atSeconds: Double
    var action: String
    var node: String
    /// As given on the command line, e.g. `kill:node-2@10s`.
    var planned: String
    /// Why it could not be applied; nil when it was.
    var error: String?

    init(_ fault: FaultSchedule.Fault, at: Duration, error: String?) {
        atSeconds = (at.inSeconds * 1000).rounded() / 1000
        action = fault.action.rawValue
        node = "node-\(fault.node)"
        planned = fault.description
        self.error = error
    }

    init(atSeconds: Double, action: String, node: String, planned: String, error: String? = nil) {
        self.atSeconds = atSeconds
        self.action = action
        self.node = node
        self.planned = planned
        self.error = error
    }

    /// The line the text report has always shown.
    var summary: String { error.map { "\(planned) failed: \($0)" } ?? planned }

    enum CodingKeys: String, CodingKey {
        case action, node, planned, error
        case atSeconds = "at_seconds"
    }

    // `error` is null when the fault worked, never left out.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(atSeconds, forKey: .atSeconds)
        try container.encode(action, forKey: .action)
        try container.encode(node, forKey: .node)
        try container.encode(planned, forKey: .planned)
        try container.encode(error, forKey: .error)
    }
}

struct FaultScheduleError: Error, CustomStringConvertible {
    let entry: String
    var description: String { "--fault entry '\(entry)' is not ACTION:node-N@TIME (actions: kill, stop, start, pause, resume)" }
}

import DFSOptions
