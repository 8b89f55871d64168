import ArgumentParser
import DFSCore
import Foundation

/// `dfs placement-sim`: the gateway's placement rule over virtual nodes and files, no cluster needed.
struct PlacementSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement-sim",
        abstract: "Simulate replica placement over virtual nodes: balance, data moved on a change, zone violations.",
        discussion: """
            Runs the placement the gateway uses for every new file (capacity-weighted rendezvous hashing, one copy \
            per zone while there are as many zones as copies) over --nodes virtual nodes and --files files, with no \
            process started. It prints:
              imbalance       max over nodes of copies / capacity, over the mean (1.00 is perfectly even)
              on adding       copies made on new holders when one node joins, against its fair share (the least
                              any placement must move)
              on removing     copies re-made when one node leaves, against the copies it held
              zone violations files with two copies in one zone although there are enough zones
            Example: dfs placement-sim --nodes 1000 --zones 20 --files 10000000
            """
    )

    @Option(help: "Virtual nodes.") var nodes = 100
    @Option(help: "Failure domains; nodes are dealt to them in turn.") var zones = 10
    @Option(help: "Files placed.") var files = 1_000_000
    @Option(help: "Copies of every file.") var replicas = 3
    @Option(help: "Largest capacity over the smallest; capacities are spread evenly between (1: all equal).")
    var capacitySpread = 1.0
    @Option(help: "Seed of the file keys, so a run can be repeated.") var seed: UInt64 = 1
    @Option(help: "Parallel workers (default: the core count).") var workers: Int?
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard nodes >= 2 else { throw ValidationError("--nodes must be at least 2") }
        guard zones >= 1, zones <= nodes else { throw ValidationError("--zones must be between 1 and --nodes") }
        guard files >= 1 else { throw ValidationError("--files must be at least 1") }
        guard replicas >= 1, replicas <= nodes else { throw ValidationError("--replicas must be between 1 and --nodes") }
        guard capacitySpread >= 1 else { throw ValidationError("--capacity-spread must be at least 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
    }

    func run() async throws {
        let simulation = PlacementSimulation(
            .init(
                nodes: nodes, zones: zones, files: files, replicas: replicas, capacitySpread: capacitySpread, seed: seed,
                workers: workers ?? ProcessInfo.processInfo.activeProcessorCount))
        let quiet = json
        let started = ContinuousClock.now
        let report = await simulation.run { step in
            if !quiet { FileHandle.standardError.write(Data("\(step)…\n".utf8)) }
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        if json {
            let document: [String: Any] = [
                "nodes": nodes, "zones": zones, "files": files, "replicas": replicas, "capacity_spread": capacitySpread,
                "imbalance": report.imbalance, "zone_violations": report.zoneViolations,
                "on_adding": [
                    "copies_moved": report.onAdding.copiesMoved, "minimum": report.onAdding.minimum,
                    "ratio": report.onAdding.ratio,
                ],
                "on_removing": [
                    "copies_moved": report.onRemoving.copiesMoved, "minimum": report.onRemoving.minimum,
                    "ratio": report.onRemoving.ratio,
                ],
                "seconds": seconds,
            ]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("\(nodes) nodes in \(zones) zones, \(files) files × \(replicas) copies, capacity spread \(capacitySpread)")
        print(String(format: "  imbalance        %.4f (max/mean of copies per capacity)", report.imbalance))
        print(
            String(
                format: "  on adding        %d copies moved, minimum %d: %.3f× the minimum", report.onAdding.copiesMoved,
                report.onAdding.minimum, report.onAdding.ratio))
        print(
            String(
                format: "  on removing      %d copies moved, minimum %d: %.3f× the minimum", report.onRemoving.copiesMoved,
                report.onRemoving.minimum, report.onRemoving.ratio))
        print("  zone violations  \(report.zoneViolations)")
        print(String(format: "  %.1f s (filling: %.1f s)", seconds, report.fillSeconds))
    }
}
