import Foundation
import VPFiles

/// A notebook as written: its Markdown, its steps (top-level fenced blocks whose info string starts with
/// `vp`), and the numbering of its labelled figures and tables, all checked.
///
/// Nothing here runs a step; the runner executes `steps` and hands their HTML to `render(outputs:unsafe:)`.
public struct NotebookSource: Sendable {
  /// A step: one top-level ```` ```vp ```` block.
  public struct Step: Sendable, Hashable {
    /// 1-based position among the steps.
    public var ordinal: Int
    /// The block's index among the document's top-level blocks (the key for `render(outputs:)`).
    public var blockIndex: Int
    /// The parsed info string.
    public var info: BlockInfo
    /// The code between the fences, as written (before parameter substitution).
    public var code: String
    /// The file line of the opening fence.
    public var fenceLine: Int
    /// The number of the figure or table this step's label declares, if any.
    public var target: CrossReferences.Target?

    /// The file line of the first line of code (`fenceLine + 1`).
    public var firstCodeLine: Int { fenceLine + 1 }

    /// The element id of the step's output: its label, or `step-N`.
    public var anchor: String { info.label ?? "step-\(ordinal)" }
  }

  /// The info-string kind that marks a step.
  public static let stepKind = "vp"

  /// The path or name the notebook was parsed with.
  public let file: String
  /// The parsed Markdown.
  public let document: MarkdownDocument
  /// The steps in document order.
  public let steps: [Step]
  /// The numbering of labelled figures and tables.
  public let crossReferences: CrossReferences

  /// The front matter.
  public var frontMatter: FrontMatter { document.frontMatter }
  /// The declared parameters.
  public var parameters: ParameterSet { document.frontMatter.parameters }

  /// Parses and checks a notebook.
  ///
  /// - Throws: `NotebookError` (with `file:line`) for malformed front matter or step attributes, a label
  ///   without a `fig-`/`tbl-` prefix or used twice, or a mention of an unknown label.
  public static func parse(_ text: String, file: String) throws -> NotebookSource {
    let document = try MarkdownDocument.parse(text, file: file)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    var steps: [Step] = []
    for (index, code) in document.codeBlocks where code.isFenced && code.language == stepKind {
      // An unclosed fence runs to the end of the file: say where it opened, not where its "statements" fail.
      let end = document.blocks[index].endLine
      let closing = end >= 1 && end <= lines.count ? lines[end - 1].trimmingCharacters(in: .whitespaces) : ""
      if end == code.startLine || !(closing.hasPrefix("```") || closing.hasPrefix("~~~")) {
        throw NotebookError(
          "this ```vp block is never closed (add a line with ``` after its last statement)", file: file,
          line: code.startLine)
      }
      let info = try BlockInfo.parse(code.info, file: file, line: code.startLine)
      steps.append(
        Step(
          ordinal: steps.count + 1, blockIndex: index, info: info, code: code.literal,
          fenceLine: code.startLine, target: nil))
    }
    let labelled = steps.compactMap { step in step.info.label.map { ($0, step.fenceLine) } }
    let crossReferences = try CrossReferences(labels: labelled, file: file)
    for index in steps.indices {
      steps[index].target = steps[index].info.label.flatMap(crossReferences.target)
    }
    try crossReferences.validate(document.references, file: file)
    return NotebookSource(
      file: file, document: document, steps: steps, crossReferences: crossReferences)
  }

  /// Reads and parses the notebook at `path`.
  public static func load(path: String) throws -> NotebookSource {
    try parse(try read(path: path), file: path)
  }

  /// The notebook's text; an error with the reason (missing, a directory, unreadable, not UTF-8).
  public static func read(path: String) throws -> String {
    let bytes: [UInt8]
    do {
      bytes = try VPFiles.AtomicFile.readAll(path)
    } catch let error as FileError {
      throw NotebookError(
        "cannot read the notebook: \(error.code == EISDIR ? "it is a directory" : error.reason)", file: path)
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw NotebookError("cannot read the notebook: it is not UTF-8 text", file: path)
    }
    return text
  }

  /// The body HTML: the prose in cmark's safe mode (unless `unsafe`), with each step's block replaced by its
  /// output (keyed by `Step.blockIndex`), cross-references linked and headings given their ids.
  public func render(outputs: [Int: String], unsafe: Bool = false) -> String {
    document.render(replacing: outputs, unsafe: unsafe, crossReferences: crossReferences)
  }
}
