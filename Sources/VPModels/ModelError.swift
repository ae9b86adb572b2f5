/// A checkpoint that does not fit the architecture it is loaded into.
public struct ModelError: Error, CustomStringConvertible, Equatable {
  /// The checkpoint file (or a description of the weight source).
  public var file: String
  public var problem: String
  public init(file: String, _ problem: String) {
    self.file = file
    self.problem = problem
  }
  public var description: String { "\(file): \(problem)" }
}
