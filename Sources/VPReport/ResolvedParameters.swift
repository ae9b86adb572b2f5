/// The parameter values a run uses, each with where it came from.
public struct ResolvedParameters: Sendable, Hashable, Codable {
  /// Where a value came from.
  public enum Source: String, Sendable, Hashable, Codable {
    /// The front-matter default.
    case defaultValue = "default"
    /// The parameters YAML file.
    case file
    /// A `-p name=value` option.
    case commandLine = "command-line"
  }

  /// The names in front-matter order.
  public let names: [String]
  /// The value of every declared parameter.
  public private(set) var values: [String: ParameterValue]
  /// Where each value came from.
  public private(set) var sources: [String: Source]

  /// The defaults of `parameters`.
  public init(defaultsOf parameters: ParameterSet) {
    names = parameters.names
    values = Dictionary(
      uniqueKeysWithValues: parameters.declarations.map { ($0.name, $0.defaultValue) })
    sources = Dictionary(
      uniqueKeysWithValues: parameters.declarations.map { ($0.name, .defaultValue) })
  }

  /// The value of `name`, or nil when no such parameter is declared.
  public subscript(name: String) -> ParameterValue? { values[name] }

  /// The values of `names` (for a block's cache key), in the order given; unknown names are skipped.
  public func values(of names: [String]) -> [(name: String, value: ParameterValue)] {
    names.compactMap { name in values[name].map { (name, $0) } }
  }

  mutating func set(_ name: String, _ value: ParameterValue, source: Source) {
    values[name] = value
    sources[name] = source
  }
}
