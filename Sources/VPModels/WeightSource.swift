/// Named float tensors, as a checkpoint provides them.
public protocol WeightSource {
  /// Where the weights come from, for error messages.
  var origin: String { get }
  /// Every tensor name, in file order.
  var names: [String] { get }
  /// The shape of a tensor, or nil when the name is absent.
  func shape(of name: String) -> [Int]?
  /// The values of a tensor, contiguous row-major.
  func values(of name: String) throws -> [Float]
}

/// A source with no tensors (the synthetic reader's placeholder).
struct EmptyWeights: WeightSource {
  var origin: String { "synthetic weights" }
  var names: [String] { [] }
  func shape(of name: String) -> [Int]? { nil }
  func values(of name: String) throws -> [Float] { throw ModelError(file: origin, "no tensor '\(name)'") }
}
