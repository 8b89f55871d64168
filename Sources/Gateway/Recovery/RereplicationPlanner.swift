import DFSCore
import DFSMetadata

/// Where to make extra copies of a file whose replicas sit on nodes that have been DOWN too long
/// (`--rereplicate-after`): serving nodes without a copy, just enough to bring the copies on serving nodes (verified
/// or already queued) back to the replication factor. With a placer they are chosen as placement chooses (capacity,
/// room, zones other than the copies' when there are such nodes), else best first. A short outage never gets here,
/// so a node that blips does not cause a burst of copies it will make redundant on its return.
struct RereplicationPlanner: Sendable {
    let replicationFactor: Int
    var placer: ReplicaPlacer? = nil

    /// - Parameters:
    ///   - locations: the file's recorded locations.
    ///   - queuedTargets: nodes with a live REPLICATE item for the file.
    ///   - serving: nodes that may take a copy now, best first.
    ///   - key, rooms: the file, and every node's room, for the placer.
    func extraTargets(
        locations: [FileLocation], queuedTargets: Set<NodeID>, serving: [NodeID], key: FileKey? = nil,
        rooms: [NodeID: NodeRoom] = [:]
    ) -> [NodeID] {
        let servingSet = Set(serving)
        let verifiedOnServing = Set(locations.filter { $0.status == .active }.map(\.nodeID)).intersection(servingSet)
        let coming = queuedTargets.intersection(servingSet).subtracting(verifiedOnServing)
        let missing = replicationFactor - verifiedOnServing.count - coming.count
        guard missing > 0 else { return [] }
        let hasRow = Set(locations.filter { $0.status == .active }.map(\.nodeID))
        let candidates = serving.filter { !hasRow.contains($0) && !queuedTargets.contains($0) }
        guard let placer, let key else { return Array(candidates.prefix(missing)) }
        return placer.additionalHolders(
            key, count: missing, among: candidates, keeping: Array(verifiedOnServing.union(coming)), length: nil,
            rooms: rooms)
    }
}
