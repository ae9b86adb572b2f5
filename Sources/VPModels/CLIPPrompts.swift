import Foundation

/// The text prompts of CLIP zero-shot classification (REFERENCE.md §8).
public enum CLIPPrompts {
  /// ILM-VP's fixed template (its one-template baseline), the first of `ensemble`.
  public static let photoTemplate = "This is a photo of a {}."

  /// ILM-VP's 81 templates: `photoTemplate` and CLIP's 80 ImageNet templates.
  public static var ensemble: [String] { [photoTemplate] + imageNetTemplates }

  /// A class name as the prompts use it: lower-cased, `_` and `-` as spaces (`"Great_White-shark"` →
  /// `"great white shark"`).
  public static func className(_ name: String) -> String {
    String(name.lowercased().map { $0 == "_" || $0 == "-" ? " " : $0 })
  }

  /// ILM-VP's candidate source labels for a target task: every template of `ensemble` filled with every class
  /// name, class-major (`81 · k + t` is template `t` with class `k`).
  public static func candidates(classNames: [String]) -> [String] {
    classNames.flatMap { name in ensemble.map { prompt($0, className: name) } }
  }

  /// `template` with its `{}` replaced by `className(name)`.
  public static func prompt(_ template: String, className name: String) -> String {
    template.replacingOccurrences(of: "{}", with: className(name))
  }
}
