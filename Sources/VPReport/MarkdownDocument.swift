/// A Markdown file parsed by cmark and copied into Swift values.
///
/// The front matter is split off first (see `FrontMatter.split`); the body keeps the file's line numbers.
/// Only the top-level blocks are exposed as `blocks`, because only top-level fenced blocks are notebook steps;
/// headings are collected from the whole tree (for the table of contents), and so are `@fig-…`/`@tbl-…`
/// mentions in prose (never in code spans or code blocks).
public struct MarkdownDocument: Sendable {
  /// The path or name given to `parse`, used in error messages.
  public let file: String
  /// The front matter (empty when the file has none).
  public let frontMatter: FrontMatter
  /// The top-level blocks, in order; `MarkdownBlock.index` is the position in this array.
  public let blocks: [MarkdownBlock]
  /// Every heading in document order, with its stable, unique `id`.
  public let headings: [Heading]
  /// Every cross-reference mention (`@fig-acc`, `@tbl-main`) in prose, in document order.
  public let references: [ReferenceMention]
  /// The Markdown body that cmark parses: the file with its front matter replaced by as many empty lines.
  let body: String

  init(
    file: String, frontMatter: FrontMatter, blocks: [MarkdownBlock], headings: [Heading],
    references: [ReferenceMention], body: String
  ) {
    self.file = file
    self.frontMatter = frontMatter
    self.blocks = blocks
    self.headings = headings
    self.references = references
    self.body = body
  }

  /// The top-level code blocks (fenced or indented) with their block indices.
  public var codeBlocks: [(index: Int, codeBlock: CodeBlock)] {
    blocks.compactMap { block in block.codeBlock.map { (block.index, $0) } }
  }
}

/// One top-level block of a `MarkdownDocument`.
public struct MarkdownBlock: Sendable, Hashable {
  /// What kind of block this is.
  public enum Kind: Sendable, Hashable {
    case paragraph
    case heading(level: Int)
    case codeBlock
    case htmlBlock
    case thematicBreak
    case blockQuote
    case list
    /// Anything else cmark may produce.
    case other
  }

  /// The position among the document's top-level blocks (the key for `render(replacing:)`).
  public var index: Int
  /// The kind of block.
  public var kind: Kind
  /// The file line where the block starts (for a fenced code block: its opening fence).
  public var startLine: Int
  /// The file line where the block ends.
  public var endLine: Int
  /// Plain text of a paragraph or heading, raw HTML of an HTML block, the code of a code block, else "".
  public var text: String
  /// The code block's details, when `kind` is `.codeBlock`.
  public var codeBlock: CodeBlock?
}

/// A code block: the info string, the code, and where its lines are in the file.
public struct CodeBlock: Sendable, Hashable {
  /// The info string after the opening fence (e.g. `vp {#fig-acc caption="…"}`), "" for indented code.
  public var info: String
  /// The code, ending with a newline when not empty (as cmark gives it).
  public var literal: String
  /// Whether the block is fenced (``` or ~~~) rather than indented.
  public var isFenced: Bool
  /// cmark's start line: the opening fence of a fenced block, the first code line of an indented one.
  public var startLine: Int

  /// The file line of the first line of code.
  public var firstCodeLine: Int { isFenced ? startLine + 1 : startLine }

  /// The file line of code line `k` (1-based): `startLine + k` for a fenced block.
  public func fileLine(ofCodeLine k: Int) -> Int { firstCodeLine + k - 1 }

  /// The first word of the info string (`vp`, `swift`, …), "" when there is none.
  public var language: String {
    String(info.trimmedSpaces().prefix { $0 != " " && $0 != "\t" && $0 != "{" })
  }
}

/// A heading, for the table of contents.
public struct Heading: Sendable, Hashable, Codable {
  /// 1 to 6.
  public var level: Int
  /// The heading's plain text (smart punctuation applied).
  public var text: String
  /// The `id` its HTML element gets: a slug of the text, unique in the document.
  public var id: String
  /// The file line of the heading.
  public var line: Int

  /// Creates a heading entry.
  public init(level: Int, text: String, id: String, line: Int) {
    self.level = level
    self.text = text
    self.id = id
    self.line = line
  }
}

/// A cross-reference such as `@fig-acc` found in prose.
public struct ReferenceMention: Sendable, Hashable {
  /// The label without the `@` (`fig-acc`).
  public var label: String
  /// The file line of the mention.
  public var line: Int
  public init(label: String, line: Int) {
    self.label = label
    self.line = line
  }
}
