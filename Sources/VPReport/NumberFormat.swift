import Foundation

/// Deterministic number formatting for HTML and SVG (no locale, no "-0").
public enum NumberFormat {
  /// `value` with exactly `decimals` digits after the point (`%.*f`, C locale), "-0.0" written "0.0".
  public static func fixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-∞" : "∞") }
    let text = String(format: "%.*f", max(0, decimals), value)
    if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
      return String(text.dropFirst())
    }
    return text
  }

  /// An SVG coordinate: rounded to 2 decimals, trailing zeros dropped (`12`, `12.5`, `12.25`).
  public static func coordinate(_ value: Double) -> String {
    guard value.isFinite else { return "0" }
    let hundredths = Int((value * 100).rounded())
    let sign = hundredths < 0 ? "-" : ""
    let magnitude = abs(hundredths)
    let whole = magnitude / 100
    let fraction = magnitude % 100
    if fraction == 0 { return "\(sign)\(whole)" }
    if fraction % 10 == 0 { return "\(sign)\(whole).\(fraction / 10)" }
    return "\(sign)\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
  }
}
