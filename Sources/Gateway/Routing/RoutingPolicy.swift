/// How the gateway orders nodes (`--routing`). `latency` is the product; the others exist so benchmarks can
/// compare against the naive choices on the same cluster and workload.
enum RoutingPolicy: String, Sendable, CaseIterable {
    case latency
    case roundRobin = "round-robin"
    case random
}
