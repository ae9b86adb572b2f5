import Foundation

/// The type of an option's value: what it accepts, and the error when it does not.
enum OptionType: Sendable, Equatable {
  /// A whole number ≥ min.
  case int(min: Int)
  /// A whole number ≥ min, or `all`.
  case intOrAll(min: Int)
  /// A finite number, > 0 (`positive`) or ≥ 0.
  case number(positive: Bool)
  /// One of these words.
  case choice([String])
  /// Comma-separated non-negative whole numbers, no repeats (seeds).
  case seeds
  /// A non-negative whole number (a data draw's seed).
  case seed
  /// Free text (a run name, a data set name or path).
  case text
  /// Comma-separated run names or patterns (`*/ilm`).
  case names

  /// How help shows a value: `N`, `X`, `a|b|c`.
  var placeholder: String {
    switch self {
    case .int: return "N"
    case .intOrAll: return "N|all"
    case .number: return "X"
    case .choice(let words): return words.joined(separator: "|")
    case .seeds: return "N,N,…"
    case .seed: return "N"
    case .text: return "TEXT"
    case .names: return "NAME,…"
    }
  }
}

/// One option of a statement, declared once: the notebook's `key=value` and the command line's `--key value`
/// are both read, checked, documented and reported from this.
struct OptionSpec: Sendable, Equatable {
  /// The notebook name (`per_class`); the command line's is `--per-class`.
  var name: String
  var type: OptionType
  /// The default as help shows it (nil: none, the option is off or required).
  var defaultText: String?
  var help: String
  /// Whether `sweep` (and the coming `search`) can vary it.
  var axis: Bool = false

  /// `--per-class`.
  var flag: String { "--" + name.replacingOccurrences(of: "_", with: "-") }
}

/// The word after a verb: `prompt pad`, `model mobilenet_v2`, `show mapping`.
struct WordSpec: Sendable {
  /// What it names, for "needs …" errors: "a prompt kind".
  var what: String
  /// The same for "unknown …" errors: "prompt kind".
  var noun: String
  /// The words it may be; empty: checked by the statement itself (data set names and paths).
  var known: [String]
  /// Whether the options depend on the word (errors then name both: "for show mapping").
  var selectsOptions = false
}

/// How option names are written in errors: `option 'epochs'` in a notebook, `option '--epochs'` on the command
/// line.
enum OptionStyle: Sendable {
  case notebook
  case commandLine

  func quote(_ name: String) -> String {
    switch self {
    case .notebook: return "'\(name)'"
    case .commandLine: return "'--\(name.replacingOccurrences(of: "_", with: "-"))'"
    }
  }
}
