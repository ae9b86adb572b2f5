import Foundation
import VPData

// Every random choice in vpbook goes through VPData's `SplitMix64`, so the same seed gives the same numbers on
// every machine. These are the draws the engine needs on top of it.
extension SplitMix64 {
  /// A uniform integer in `0..<bound` (multiply-shift on the high 32 bits; the bias is below 2⁻³² · bound).
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

  /// A uniform double in `[0, 1)` from the top 53 bits.
  public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// A standard normal draw (Box–Muller on two uniform draws; one draw is discarded so every call takes two).
  public mutating func gaussian() -> Double {
    let u = 1 - unit()  // (0, 1]: the logarithm stays finite
    let v = unit()
    return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
  }

  /// A derived generator for a named sub-stream (so adding a random draw in one place does not shift another).
  public func fork(_ salt: UInt64) -> SplitMix64 {
    var g = SplitMix64(seed: state ^ (salt &* 0xD1B5_4A32_D192_ED03))
    _ = g.next()
    return g
  }
}
