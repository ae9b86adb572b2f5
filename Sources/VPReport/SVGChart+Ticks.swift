extension SVGChart {
  /// Axis ticks at multiples of a "nice" step (1, 2 or 5 × 10^k) that cover a data range.
  public struct Ticks: Sendable, Hashable {
    /// The tick values, ascending; the first is ≤ the data's minimum and the last ≥ its maximum.
    public var values: [Double]
    /// The distance between ticks.
    public var step: Double
    /// Digits after the point that show every tick exactly (0 for steps ≥ 1).
    public var decimals: Int

    /// The tick labels, with `decimals` digits.
    public var labels: [String] { values.map { NumberFormat.fixed($0, decimals: decimals) } }

    /// The axis range the ticks span.
    public var lower: Double { values.first ?? 0 }
    /// The axis range the ticks span.
    public var upper: Double { values.last ?? 1 }
  }

  /// Nice ticks for `lower…upper`: the smallest step of the form 1, 2 or 5 × 10^k that needs at most
  /// `maxCount` ticks to cover the range (so 0.113…0.862 gives 0.1, 0.2, …, 0.9).
  ///
  /// - Parameters:
  ///   - integer: only whole-number steps (epochs, counts).
  /// - Returns: at least two ticks; a zero-width range is widened first (by 10 % of the value, or to 0…1).
  public static func ticks(
    lower: Double, upper: Double, maxCount: Int = 10, integer: Bool = false
  ) -> Ticks {
    var low = lower.isFinite ? lower : 0
    var high = upper.isFinite ? upper : 1
    if low > high { swap(&low, &high) }
    if high - low <= max(abs(low), abs(high)) * 1e-12 {
      high = low
      let pad = low == 0 ? 1 : abs(low) * 0.1
      if low == 0 {
        high = 1
      } else {
        low -= pad
        high += pad
      }
    }
    let maxCount = max(2, maxCount)
    let raw = (high - low) / Double(maxCount)
    var exponent = Int((raw > 0 ? log10Floor(raw) : 0)) - 1
    while true {
      for mantissa in [1, 2, 5] {
        let step = Double(mantissa) * pow10(exponent)
        if integer && step < 1 { continue }
        let first = (low / step + 1e-9).rounded(.down)
        let last = (high / step - 1e-9).rounded(.up)
        guard last - first + 1 <= Double(maxCount) || exponent > 300 else { continue }
        let firstIndex = Int(first)
        let lastIndex = max(Int(last), firstIndex + 1)
        let values = (firstIndex...lastIndex).map { index -> Double in
          let units = Double(index * mantissa)
          return exponent < 0 ? units / pow10(-exponent) : units * pow10(exponent)
        }
        return Ticks(values: values, step: step, decimals: max(0, -exponent))
      }
      exponent += 1
    }
  }

  /// The values of `ticks(lower:upper:maxCount:integer:)`.
  public static func niceTicks(
    lower: Double, upper: Double, maxCount: Int = 10, integer: Bool = false
  ) -> [Double] {
    ticks(lower: lower, upper: upper, maxCount: maxCount, integer: integer).values
  }

  /// ⌊log10 x⌋ for x > 0, without Foundation.
  static func log10Floor(_ value: Double) -> Int {
    var exponent = 0
    var scaled = value
    while scaled >= 10 {
      scaled /= 10
      exponent += 1
    }
    while scaled < 1 {
      scaled *= 10
      exponent -= 1
    }
    return exponent
  }
}
