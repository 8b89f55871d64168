/// A fixed number of the most recent elements, oldest first; appending to a full ring drops the oldest. Memory
/// stays at `capacity` elements however long the gateway runs.
struct RingBuffer<Element: Sendable>: Sendable {
    private var storage: [Element] = []
    /// Where the next element goes once the ring is full (then also the oldest element's slot).
    private var nextSlot = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "a ring needs room for one element")
        self.capacity = capacity
        storage.reserveCapacity(capacity)
    }

    var count: Int { storage.count }
    var isEmpty: Bool { storage.isEmpty }

    mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[nextSlot] = element
        }
        nextSlot = (nextSlot + 1) % capacity
    }

    /// Every element, oldest first.
    var elements: [Element] {
        guard storage.count == capacity, nextSlot > 0 else { return storage }
        return Array(storage[nextSlot...] + storage[..<nextSlot])
    }

    /// The newest element, nil while empty.
    var last: Element? {
        guard !storage.isEmpty else { return nil }
        return storage[(nextSlot - 1 + storage.count) % storage.count]
    }

    /// The newest elements for which `isNewer` holds, oldest first: a suffix, since elements arrive in time order.
    func suffix(while isNewer: (Element) -> Bool) -> [Element] {
        var newer: [Element] = []
        for element in elements.reversed() {
            guard isNewer(element) else { break }
            newer.append(element)
        }
        return newer.reversed()
    }
}
