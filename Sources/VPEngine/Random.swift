/// SplitMix64: a small, fast, seedable generator (Steele, Lea & Flood 2014). Every random choice in vpbook
/// goes through one of these, so the same seed gives the same numbers on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  public private(set) var state: UInt64
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform integer in `0..<bound` (Lemire's multiply-shift; the bias is below 2⁻³² for our sizes).
  public mutating func below(_ bound: Int) -> Int {
    precondition(bound > 0)
    return Int((UInt64(truncatingIfNeeded: next() >> 32) &* UInt64(bound)) >> 32)
  }

  /// A Fisher–Yates permutation of `0..<n`.
  public mutating func permutation(_ n: Int) -> [Int] {
    var p = Array(0..<n)
    if n > 1 {
      for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, below(i + 1)) }
    }
    return p
  }

  /// A derived generator for a named sub-stream (so adding a random draw in one place does not shift another).
  public func fork(_ salt: UInt64) -> SplitMix64 {
    var g = SplitMix64(seed: state ^ (salt &* 0xD1B5_4A32_D192_ED03))
    _ = g.next()
    return g
  }
}
