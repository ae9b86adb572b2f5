import Foundation
import VPEngine

/// Reads one statement's options against its table: unknown options, wrong types and unknown values are
/// errors at the statement's line, worded from the table.
struct OptionReader {
  let raw: RawStatement
  /// The notebook (nil on the command line: errors then carry no location).
  let file: String?
  /// The options this statement (with its word) takes.
  let specs: [OptionSpec]
  var style: OptionStyle = .notebook
  /// Values that replace the written ones (a sweep point's).
  var overrides: [(String, String)] = []

  func fail(_ message: String) -> NotebookError {
    NotebookError(message, file: file, line: file == nil ? nil : raw.line)
  }

  func unknownValue(_ value: String, what: String, known: [String]) -> NotebookError {
    var message = "unknown \(what) '\(value)'"
    if let guess = BlockSyntax.suggestion(for: value, in: known) { message += " (did you mean '\(guess)'?)" }
    return fail(message + "; known: " + known.joined(separator: ", "))
  }

  /// The statement's positional word, checked against `word`; nil when the statement takes none.
  func word(_ word: WordSpec?) throws -> String? {
    guard let word else {
      guard raw.words.isEmpty else {
        throw fail("unexpected '\(raw.words[0])' in \(raw.verb) (options are written key=value)")
      }
      return nil
    }
    guard let first = raw.words.first else {
      throw fail("\(raw.verb) needs \(word.what) (one of: \(word.known.joined(separator: ", ")))")
    }
    guard raw.words.count == 1 else {
      throw fail(
        "\(raw.verb) takes one word before its options, got '\(raw.words.joined(separator: " "))' (options are key=value)"
      )
    }
    if !word.known.isEmpty, !word.known.contains(first) {
      throw unknownValue(first, what: word.noun, known: word.known)
    }
    return first
  }

  /// Fails on the first option not in the table; `word` is named when it selects the options.
  func checkOptions(word: WordSpec? = nil) throws {
    let allowed = specs.map(\.name)
    for option in raw.options where !allowed.contains(option.key) {
      var message = "unknown option \(style.quote(option.key)) for \(raw.verb)"
      if let first = raw.words.first, word?.selectsOptions == true { message += " \(first)" }
      if let guess = BlockSyntax.suggestion(for: option.key, in: allowed) {
        message += " (did you mean \(style.quote(guess))?)"
      }
      message += allowed.isEmpty ? "; it takes no options" : "; known: " + allowed.joined(separator: ", ")
      throw fail(message)
    }
  }

  private func spec(_ key: String) -> OptionSpec {
    guard let spec = specs.first(where: { $0.name == key }) else {
      preconditionFailure("\(raw.verb) reads option '\(key)', which its table does not declare")
    }
    return spec
  }

  /// The written value (or the override), unchecked; nil for an option the statement does not take.
  func string(_ key: String) -> String? {
    guard specs.contains(where: { $0.name == key }) else { return nil }
    return overrides.first { $0.0 == key }?.1 ?? raw.options.first { $0.key == key }?.value
  }

  /// Whether the option is written (or overridden).
  func has(_ key: String) -> Bool { string(key) != nil }

  /// The comma-separated items of a value.
  func list(_ key: String) -> [String]? {
    string(key).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmedSpaces() } }
  }

  /// Checks one item against the option's type; returns it.
  @discardableResult
  func check(_ key: String, item: String) throws -> String {
    let spec = spec(key)
    let name = style.quote(key)
    switch spec.type {
    case .int(let min):
      guard let value = Int(item), value >= min else {
        throw fail("option \(name) expects a whole number ≥ \(min), got '\(item)'")
      }
    case .intOrAll(let min):
      guard item == "all" || (Int(item).map { $0 >= min } ?? false) else {
        throw fail("option \(name) expects a whole number ≥ \(min) or all, got '\(item)'")
      }
    case .number(let positive):
      guard let value = Double(item), value.isFinite, positive ? value > 0 : value >= 0 else {
        throw fail("option \(name) expects \(positive ? "a positive number" : "a number ≥ 0"), got '\(item)'")
      }
    case .choice(let known):
      guard known.contains(item) else {
        var message = "option \(name) got unknown value '\(item)'"
        if let guess = BlockSyntax.suggestion(for: item, in: known) { message += " (did you mean '\(guess)'?)" }
        throw fail(message + "; known: " + known.joined(separator: ", "))
      }
    case .seed:
      guard UInt64(item) != nil else {
        throw fail("option \(name) expects a non-negative whole number, got '\(item)'")
      }
    case .seeds:
      guard UInt64(item) != nil else {
        throw fail("option \(name) expects non-negative whole numbers (7,8,9), got '\(item)'")
      }
    case .text, .names:
      break
    }
    return item
  }

  /// The option's single value, checked (a list is an error for every type but seeds and names).
  func value(_ key: String) throws -> String? {
    guard let text = string(key) else { return nil }
    switch spec(key).type {
    case .int, .intOrAll, .number, .seed:
      return try check(key, item: text)
    case .choice:
      guard let items = list(key), items.count == 1 else {
        for item in list(key) ?? [] { try check(key, item: item) }
        throw fail("option \(style.quote(key)) takes one value, got '\(text)'")
      }
      return try check(key, item: items[0])
    case .text, .seeds, .names:
      return text
    }
  }

  /// Every value of a list-valued option (compare's and sweep's), checked.
  func values(_ key: String) throws -> [String]? {
    guard let items = list(key) else { return nil }
    return try items.map { try check(key, item: $0) }
  }

  func int(_ key: String) throws -> Int? { try value(key).map { Int($0)! } }
  /// A count that may be `all`.
  func count(_ key: String) throws -> ImageCount? {
    try value(key).map { $0 == "all" ? .all : .count(Int($0)!) }
  }
  func double(_ key: String) throws -> Double? { try value(key).map { Double($0)! } }
  func seed(_ key: String) throws -> UInt64? { try value(key).map { UInt64($0)! } }

  /// A choice as its enum.
  func choice<T: RawRepresentable>(_ key: String, as type: T.Type) throws -> T? where T.RawValue == String {
    try value(key).map { T(rawValue: $0)! }
  }

  /// The training seeds: `seeds=7,8,9` or `seed=7` (default 7).
  func seeds() throws -> [UInt64] {
    if has("seed"), has("seeds") { throw fail("give seed= or seeds=, not both") }
    let key = has("seeds") ? "seeds" : "seed"
    guard let items = list(key) else { return [7] }
    let values = try items.map { UInt64(try check(key, item: $0))! }
    guard Set(values).count == values.count else { throw fail("option \(style.quote(key)) repeats a seed") }
    return values
  }
}
