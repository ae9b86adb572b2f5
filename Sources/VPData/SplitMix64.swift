/// The SplitMix64 generator (Steele, Lea & Flood 2014), as in Java's `SplittableRandom` and
/// Vigna's reference C code.
///
/// `next()`: `state &+= 0x9E3779B97F4A7C15`, then returns ``mix(_:)`` of the new state. The
/// first output for seed 0 is `0xE220A8397B1DCDAF`.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
  /// The current state; the next output is `mix(state &+ 0x9E3779B97F4A7C15)`.
  public var state: UInt64

  /// A generator whose state starts at `seed`.
  public init(seed: UInt64) {
    state = seed
  }

  /// Advances and returns the next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return Self.mix(state)
  }

  /// SplitMix64's output function (a bijective 64-bit finaliser):
  /// `z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) &* 0x94D049BB133111EB;
  /// return z ^ (z >> 31)`.
  public static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
