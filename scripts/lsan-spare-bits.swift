// LeakSanitizer and Swift's multi-payload enums: why `make asan`-style runs report "direct leaks" of
// `LabeledImages` sample arrays that are not leaks.
//
// A Swift enum with several payload cases (`ImageSamples`: `.bytes([UInt8], maximum:)` / `.floats([Float])`)
// keeps its case tag in the spare high bits of the payload's pointer. LeakSanitizer scans memory for exact
// pointer values, so an array stored in a case whose tag is not zero is not found and is reported as a direct
// leak although it is reachable. This program shows it: the four arrays are reachable through `box` until
// exit, yet the two `.floats` ones (tag 1) are reported.
//
//   swiftc -sanitize=address -g scripts/lsan-spare-bits.swift -o /tmp/lsan-spare-bits && /tmp/lsan-spare-bits
//   → "Direct leak of 8080 byte(s) in 2 object(s)" (Swift 6.3.1, x86-64)
enum Samples {
  case bytes([UInt8], maximum: Float)
  case floats([Float])
}

struct Holder {
  var samples: Samples
}

final class Box {
  var items: [Holder] = []
}

let box = Box()

@inline(never) func make(_ n: Int) -> Samples {
  n % 2 == 0
    ? .bytes([UInt8](repeating: UInt8(n), count: 1000 + n), maximum: 255)
    : .floats([Float](repeating: 1, count: 1000 + n))
}

for i in 0..<4 { box.items.append(Holder(samples: make(i))) }
print("\(box.items.count) arrays, all reachable from a global until exit")
