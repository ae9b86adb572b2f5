/// The type of a notebook parameter, inferred from its default value in the front matter.
public indirect enum ParameterType: Sendable, Hashable, CustomStringConvertible {
  /// A whole number (`epochs: 6`).
  case int
  /// A floating-point number (`lr: 0.01`); integer literals are accepted for it.
  case double
  /// `true` or `false`.
  case bool
  /// Any text.
  case string
  /// A list of scalars of one type (`mappings: [rlm, flm]`); written `a,b,c` on the command line.
  case list(ParameterType)

  /// `int`, `double`, `bool`, `string` or `list of int` etc., as `--help-params` prints it.
  public var description: String {
    switch self {
    case .int: return "int"
    case .double: return "double"
    case .bool: return "bool"
    case .string: return "string"
    case .list(let element): return "list of \(element)"
    }
  }

  /// The words an error message uses for a value of this type ("an integer", "a list of numbers").
  var expectation: String {
    switch self {
    case .int: return "an integer"
    case .double: return "a number"
    case .bool: return "true or false"
    case .string: return "a string"
    case .list(let element): return "a comma-separated list of \(element.pluralNoun)"
    }
  }

  private var pluralNoun: String {
    switch self {
    case .int: return "integers"
    case .double: return "numbers"
    case .bool: return "booleans (true/false)"
    case .string: return "strings"
    case .list: return "lists"
    }
  }
}

/// The value of a notebook parameter.
///
/// It encodes as the plain JSON value (`20`, `0.01`, `true`, `"ilm"`, `[1, 2]`) for manifests and cache keys.
public enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
  case int(Int)
  case double(Double)
  case bool(Bool)
  case string(String)
  case list([ParameterValue])

  /// The text that replaces `$name` in a block: `20`, `0.01`, `true`, `ilm`, or a list as `a,b,c`.
  public var text: String {
    switch self {
    case .int(let value): return String(value)
    case .double(let value): return "\(value)"
    case .bool(let value): return value ? "true" : "false"
    case .string(let value): return value
    case .list(let values): return values.map(\.text).joined(separator: ",")
    }
  }

  /// Same as `text`.
  public var description: String { text }

  /// The integer, if this is an `.int`.
  public var intValue: Int? { if case .int(let value) = self { value } else { nil } }
  /// The number, if this is a `.double` or an `.int`.
  public var doubleValue: Double? {
    switch self {
    case .double(let value): return value
    case .int(let value): return Double(value)
    default: return nil
    }
  }
  /// The flag, if this is a `.bool`.
  public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
  /// The text, if this is a `.string`.
  public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
  /// The elements, if this is a `.list`.
  public var listValue: [ParameterValue]? { if case .list(let value) = self { value } else { nil } }

  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int.self) {
      self = .int(value)
    } else if let value = try? container.decode(Double.self) {
      self = .double(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else {
      self = .list(try container.decode([ParameterValue].self))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .int(let value): try container.encode(value)
    case .double(let value): try container.encode(value)
    case .bool(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .list(let values): try container.encode(values)
    }
  }
}

/// One parameter declared in the front matter: `name: default` or `name: {default: …, help: "…"}`.
public struct ParameterDeclaration: Sendable, Hashable {
  /// The name used in `-p name=value` and `$name`: letters, digits and underscores, not starting with a digit.
  public var name: String
  /// The type, inferred from the default.
  public var type: ParameterType
  /// The default value.
  public var defaultValue: ParameterValue
  /// The optional one-line help text.
  public var help: String?
  /// The file line of the declaration (0 when made in code).
  public var line: Int

  /// Creates a declaration; `defaultValue` must be of `type`.
  public init(
    name: String, type: ParameterType, defaultValue: ParameterValue, help: String? = nil,
    line: Int = 0
  ) {
    self.name = name
    self.type = type
    self.defaultValue = defaultValue
    self.help = help
    self.line = line
  }

  /// Parses `text` (as written after `-p name=`) to this parameter's type.
  ///
  /// Integers: `20`; numbers: `0.01`, `1e-3` or `3`; booleans: `true`/`false`; lists: `a,b,c` (spaces around
  /// items ignored, an empty text is an empty list).
  public func parse(_ text: String) throws -> ParameterValue {
    guard let value = ParameterDeclaration.parse(text, as: type) else {
      throw NotebookError("parameter '\(name)' expects \(type.expectation), got '\(text)'")
    }
    return value
  }

  static func parse(_ text: String, as type: ParameterType) -> ParameterValue? {
    switch type {
    case .int:
      return Int(text.trimmedSpaces()).map(ParameterValue.int)
    case .double:
      guard let value = Double(text.trimmedSpaces()), value.isFinite else { return nil }
      return .double(value)
    case .bool:
      switch text.trimmedSpaces().lowercased() {
      case "true": return .bool(true)
      case "false": return .bool(false)
      default: return nil
      }
    case .string:
      return .string(text)
    case .list(let element):
      if text.trimmedSpaces().isEmpty { return .list([]) }
      var values: [ParameterValue] = []
      for item in text.split(separator: ",", omittingEmptySubsequences: false) {
        let item = String(item).trimmedSpaces()
        guard let value = parse(item, as: element) else { return nil }
        values.append(value)
      }
      return .list(values)
    }
  }

  /// Whether `name` can be a parameter name (`$name` must be able to refer to it).
  static func isValidName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first.isIdentifierStart else { return false }
    return name.unicodeScalars.allSatisfy(\.isIdentifierBody)
  }
}

extension Unicode.Scalar {
  /// ASCII letter or underscore.
  var isIdentifierStart: Bool {
    ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_"
  }
  /// ASCII letter, digit or underscore.
  var isIdentifierBody: Bool { isIdentifierStart || ("0"..."9").contains(self) }
}

extension String {
  /// This string without leading and trailing spaces, tabs and newlines.
  public func trimmedSpaces() -> String {
    let scalars = unicodeScalars
    let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    guard let start = scalars.firstIndex(where: { !isSpace($0) }),
      let last = scalars.lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(scalars[start...last])
  }
}
