import DFSClient
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

    /// Applies each fault at its time; returns what was done (for the report).
    func run(on cluster: LocalCluster, log: @Sendable (String) -> Void) async -> [String] {
        let started = ContinuousClock.now
        var applied: [String] = []
        for fault in faults {
            let wait = started + fault.at - ContinuousClock.now
            if wait > .zero { try? await Task.sleep(for: wait) }
            if Task.isCancelled { break }
            do {
                switch fault.action {
                case .kill: _ = await cluster.stop(.node(fault.node), immediately: true)
                case .stop: _ = await cluster.stop(.node(fault.node))
                case .start: try await cluster.start(.node(fault.node))
                case .pause: try await cluster.pause(.node(fault.node))
                case .resume: try await cluster.resume(.node(fault.node))
                }
                applied.append(fault.description)
                log("fault applied: \(fault)")
            } catch {
                applied.append("\(fault) failed: \(error)")
                log("fault \(fault) failed: \(error)")
            }
        }
        return applied
    }
}

struct FaultScheduleError: Error, CustomStringConvertible {
    let entry: String
    var description: String { "--fault entry '\(entry)' is not ACTION:node-N@TIME (actions: kill, stop, start, pause, resume)" }
}

import DFSOptions
