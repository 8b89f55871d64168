/// The real placement (`PlacementMap`) over virtual nodes and files, no processes: how evenly it fills nodes, how
/// much data a change of membership moves against the least possible, and whether any file has two copies in one
/// zone. `dfs placement-sim` runs it at full size; a test runs it small.
public struct PlacementSimulation: Sendable {
    public struct Configuration: Sendable {
        public var nodes: Int
        public var zones: Int
        public var files: Int
        public var replicas: Int
        /// Capacities are spread evenly from 1 to this many times the smallest (1: all equal).
        public var capacitySpread: Double
        /// Keys are drawn from this seed, so a run can be repeated.
        public var seed: UInt64
        /// Parallel workers.
        public var workers: Int

        public init(
            nodes: Int, zones: Int, files: Int, replicas: Int = 3, capacitySpread: Double = 1, seed: UInt64 = 1,
            workers: Int = 2
        ) {
            self.nodes = nodes
            self.zones = zones
            self.files = files
            self.replicas = replicas
            self.capacitySpread = capacitySpread
            self.seed = seed
            self.workers = workers
        }
    }

    /// Copies made on new holders by a change of membership, against the fewest any placement could make.
    public struct Movement: Sendable, Equatable {
        public var copiesMoved: Int
        /// Adding: the new node's fair share of all copies; removing: the copies the node held.
        public var minimum: Int
        public var ratio: Double { minimum == 0 ? 0 : Double(copiesMoved) / Double(minimum) }
    }

    public struct Report: Sendable {
        public var configuration: Configuration
        /// Max over nodes of (copies / capacity), over its mean: 1 is perfectly even.
        public var imbalance: Double
        public var zoneViolations: Int
        public var onAdding: Movement
        public var onRemoving: Movement
        public var fillSeconds: Double
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        precondition(configuration.nodes > 1 && configuration.zones > 0 && configuration.files > 0, "a simulation needs nodes")
        self.configuration = configuration
    }

    /// Fills the nodes, then adds one node (in the zone next in turn, average capacity), then removes one of the
    /// original nodes; both changes start from the filled state.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async -> Report {
        let c = configuration
        let nodes = (0..<c.nodes).map { node(index: $0, capacity: capacity(of: $0)) }
        let map = PlacementMap.calibrated(nodes, replicas: c.replicas)
        let started = ContinuousClock.now
        progress("filling \(c.nodes) nodes with \(c.files) files × \(c.replicas)")
        let sets = await placeAll(map)
        let fillSeconds = (ContinuousClock.now - started) / .seconds(1)
        var copies = [Int](repeating: 0, count: c.nodes)
        var violations = 0
        for file in 0..<c.files {
            let set = (0..<c.replicas).map { Int(sets[file * c.replicas + $0]) }.filter { $0 >= 0 }
            for index in set { copies[index] += 1 }
            if map.violatesZones(set) { violations += 1 }
        }
        let shares = nodes.indices.map { Double(copies[$0]) / nodes[$0].weight }
        let imbalance = shares.max()! / (shares.reduce(0, +) / Double(shares.count))
        let total = copies.reduce(0, +)

        progress("adding node \(c.nodes + 1)")
        let averageCapacity = nodes.map(\.weight).reduce(0, +) / Double(nodes.count)
        let added = node(index: c.nodes, capacity: averageCapacity)
        let grown = PlacementMap.calibrated(nodes + [added], replicas: c.replicas)
        let movedOnAdding = await moves(from: sets, to: grown, renumber: { $0 })
        let fairShare = Double(total) * averageCapacity / (nodes.map(\.weight).reduce(0, +) + averageCapacity)

        progress("removing node 1")
        let shrunk = PlacementMap.calibrated(Array(nodes.dropFirst()), replicas: c.replicas)
        let movedOnRemoving = await moves(from: sets, to: shrunk, renumber: { $0 + 1 })
        return Report(
            configuration: c, imbalance: imbalance, zoneViolations: violations,
            onAdding: Movement(copiesMoved: movedOnAdding, minimum: Int(fairShare.rounded())),
            onRemoving: Movement(copiesMoved: movedOnRemoving, minimum: copies[0]), fillSeconds: fillSeconds)
    }

    private func capacity(of index: Int) -> Double {
        let c = configuration
        guard c.nodes > 1, c.capacitySpread > 1 else { return Double(1 << 40) }
        return Double(1 << 40) * (1 + (c.capacitySpread - 1) * Double(index) / Double(c.nodes - 1))
    }

    private func node(index: Int, capacity: Double) -> PlacementNode {
        // "sim-N" is always a valid id.
        PlacementNode(
            id: try! NodeID(validating: "sim-\(index + 1)"), zone: "zone-\(index % configuration.zones + 1)", weight: capacity)
    }

    private func keyHash(of file: Int) -> UInt64 { PlacementMap.mix(configuration.seed &* 0x9E37_79B9 ^ UInt64(file)) }

    /// Every file's replica set, `replicas` node indices per file (-1 where a set is smaller), computed by `workers`
    /// tasks over slices of the files.
    private func placeAll(_ map: PlacementMap) async -> [Int32] {
        let replicas = configuration.replicas
        return await sliced { range in
            var flat = [Int32](repeating: -1, count: range.count * replicas)
            for file in range {
                for (slot, index) in map.indices(forKeyHash: keyHash(of: file), replicas: replicas).enumerated() {
                    flat[(file - range.lowerBound) * replicas + slot] = Int32(index)
                }
            }
            return flat
        }.flatMap { $0 }
    }

    /// Copies each file would gain on nodes that did not hold it, under `map`; `renumber` maps the new map's node
    /// indices to the original ones.
    private func moves(from sets: [Int32], to map: PlacementMap, renumber: @escaping @Sendable (Int) -> Int) async -> Int {
        let replicas = configuration.replicas
        return await sliced { range in
            var moved = 0
            for file in range {
                let old = sets[(file * replicas)..<((file + 1) * replicas)]
                for index in map.indices(forKeyHash: keyHash(of: file), replicas: replicas)
                where !old.contains(Int32(renumber(index))) {
                    moved += 1
                }
            }
            return moved
        }.reduce(0, +)
    }

    /// `work` over `workers` slices of the files, results in slice order.
    private func sliced<T: Sendable>(_ work: @escaping @Sendable (Range<Int>) -> T) async -> [T] {
        let files = configuration.files
        let workers = max(1, configuration.workers)
        let step = (files + workers - 1) / workers
        return await withTaskGroup(of: (Int, T).self) { group in
            for (slice, start) in stride(from: 0, to: files, by: step).enumerated() {
                group.addTask { (slice, work(start..<min(start + step, files))) }
            }
            var results: [(Int, T)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
