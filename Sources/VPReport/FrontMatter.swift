/// The YAML front matter of a notebook: a leading block between a `---` line and a `---` (or `...`) line.
///
/// ```yaml
/// ---
/// title: How label mapping steers visual prompting
/// authors: [A. Author, B. Author]     # or a single string
/// description: One sentence for the report header.
/// params:
///   seed: 7                           # type inferred from the default: Int
///   lr: 0.01                          # Double
///   mappings: [rlm, flm, ilm]         # list of String
///   epochs: {default: 6, help: "training epochs per run"}
/// ---
/// ```
public struct FrontMatter: Sendable, Equatable {
  /// The `title` key.
  public var title: String?
  /// The `authors` key: one string or a list (entries may also be mappings with a `name`).
  public var authors: [String]
  /// The `description` key.
  public var description: String?
  /// The declared parameters (`params` key), in the order they are written.
  public var parameters: ParameterSet
  /// The `portable` key: run with the kernels pinned so that the numbers are the same on any x86-64 CPU with
  /// AVX2 (`vpbook run` re-executes itself in portable mode).
  public var portable: Bool = false
  /// Top-level keys that this module does not interpret, in order (the runner may warn about them).
  public var unknownKeys: [String]
  /// How many lines of the file the front matter takes, both delimiter lines included (0 when there is none).
  public var lineCount: Int

  /// Creates front matter from its parts (an empty one by default).
  public init(
    title: String? = nil, authors: [String] = [], description: String? = nil,
    parameters: ParameterSet = ParameterSet(), unknownKeys: [String] = [], lineCount: Int = 0
  ) {
    self.title = title
    self.authors = authors
    self.description = description
    self.parameters = parameters
    self.unknownKeys = unknownKeys
    self.lineCount = lineCount
  }
}
