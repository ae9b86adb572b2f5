internal import CCmark

extension MarkdownDocument {
  /// Parses a notebook or any Markdown file.
  ///
  /// Splits off the front matter, parses the body with cmark (`CMARK_OPT_DEFAULT | CMARK_OPT_SMART`), walks the
  /// C tree once to copy blocks, headings and cross-reference mentions into Swift values, and frees it.
  ///
  /// - Parameters:
  ///   - text: the whole file.
  ///   - file: the path or name used in error messages.
  /// - Throws: `NotebookError` for malformed front matter.
  public static func parse(_ text: String, file: String) throws -> MarkdownDocument {
    let (frontMatter, body) = try FrontMatter.split(text, file: file)
    let sourceLines = body.split(separator: "\n", omittingEmptySubsequences: false)
    let tree = CMarkTree(parsing: body)

    var blocks: [MarkdownBlock] = []
    var headings: [Heading] = []
    var references: [ReferenceMention] = []
    var slugger = Slugger()

    for (index, node) in CMarkTree.children(of: tree.root).enumerated() {
      let startLine = Int(cmark_node_get_start_line(node))
      var block = MarkdownBlock(
        index: index, kind: .other, startLine: startLine,
        endLine: Int(cmark_node_get_end_line(node)),
        text: "", codeBlock: nil)
      switch cmark_node_get_type(node) {
      case CMARK_NODE_PARAGRAPH:
        block.kind = .paragraph
        block.text = CMarkTree.plainText(node)
      case CMARK_NODE_HEADING:
        block.kind = .heading(level: Int(cmark_node_get_heading_level(node)))
        block.text = CMarkTree.plainText(node)
      case CMARK_NODE_CODE_BLOCK:
        block.kind = .codeBlock
        block.text = CMarkTree.literal(node)
        let line =
          startLine >= 1 && startLine <= sourceLines.count ? sourceLines[startLine - 1] : ""
        block.codeBlock = CodeBlock(
          info: CMarkTree.fenceInfo(node), literal: block.text, isFenced: isFence(line),
          startLine: startLine)
      case CMARK_NODE_HTML_BLOCK:
        block.kind = .htmlBlock
        block.text = CMarkTree.literal(node)
      case CMARK_NODE_THEMATIC_BREAK: block.kind = .thematicBreak
      case CMARK_NODE_BLOCK_QUOTE: block.kind = .blockQuote
      case CMARK_NODE_LIST: block.kind = .list
      default: block.kind = .other
      }
      blocks.append(block)

      var lastLine = startLine
      for descendant in [node] + CMarkTree.descendants(of: node) {
        let line = Int(cmark_node_get_start_line(descendant))
        if line > 0 { lastLine = line }
        switch cmark_node_get_type(descendant) {
        case CMARK_NODE_HEADING:
          let text = CMarkTree.plainText(descendant)
          headings.append(
            Heading(
              level: Int(cmark_node_get_heading_level(descendant)), text: text,
              id: slugger.unique(for: text), line: lastLine))
        case CMARK_NODE_TEXT:
          let literal = CMarkTree.literal(descendant)
          for mention in CrossReferenceScanner.mentions(in: literal) {
            references.append(ReferenceMention(label: mention.label, line: lastLine))
          }
        default: break
        }
      }
    }
    return MarkdownDocument(
      file: file, frontMatter: frontMatter, blocks: blocks, headings: headings,
      references: references,
      body: body)
  }

  /// Whether a source line opens a fenced code block (up to three spaces, then ``` or ~~~).
  private static func isFence(_ line: Substring) -> Bool {
    let trimmed = line.drop { $0 == " " }
    return line.count - trimmed.count <= 3 && (trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~"))
  }
}

/// Finds `@fig-label` and `@tbl-label` in prose text.
enum CrossReferenceScanner {
  /// A mention: the label and the range of `@label` in the scanned text's unicode scalars.
  struct Mention {
    var label: String
    var range: Range<Int>
  }

  /// Mentions in `text`: `@` not preceded by a letter, digit, `_` or `.` (so e-mail addresses are skipped),
  /// then `fig-` or `tbl-` and at least one of letters, digits, `_` and `-`; a trailing `-` is not part of it.
  static func mentions(in text: String) -> [Mention] {
    guard text.contains("@") else { return [] }
    let scalars = Array(text.unicodeScalars)
    var result: [Mention] = []
    var index = 0
    while index < scalars.count {
      defer { index += 1 }
      guard scalars[index] == "@" else { continue }
      if index > 0 {
        let previous = scalars[index - 1]
        if previous.isIdentifierBody || previous == "." || previous.properties.isAlphabetic {
          continue
        }
      }
      var end = index + 1
      while end < scalars.count, scalars[end].isIdentifierBody || scalars[end] == "-" { end += 1 }
      while end > index + 1, scalars[end - 1] == "-" { end -= 1 }
      let label = String(String.UnicodeScalarView(scalars[(index + 1)..<end]))
      guard let kind = LabelKind(label: label), label.count > kind.prefix.count else { continue }
      result.append(Mention(label: label, range: index..<end))
      index = end - 1
    }
    return result
  }
}

/// Makes stable, unique heading ids.
struct Slugger {
  private var used = Set<String>()

  /// A slug of `text` not handed out before: lowercase letters and digits, runs of spaces and hyphens as one
  /// `-`, other punctuation dropped; "section" when nothing is left; a `sec-` prefix where the slug would
  /// look like a figure or table label; `-1`, `-2`, … appended on repeats.
  mutating func unique(for text: String) -> String {
    var slug = ""
    var pendingDash = false
    for scalar in text.lowercased().unicodeScalars {
      if scalar.isIdentifierBody || scalar.properties.isAlphabetic {
        if pendingDash && !slug.isEmpty { slug += "-" }
        pendingDash = false
        slug.unicodeScalars.append(scalar)
      } else if scalar == " " || scalar == "-" || scalar == "\t" {
        pendingDash = true
      }
    }
    if slug.isEmpty { slug = "section" }
    if LabelKind(label: slug) != nil { slug = "sec-" + slug }
    var candidate = slug
    var counter = 0
    while used.contains(candidate) {
      counter += 1
      candidate = "\(slug)-\(counter)"
    }
    used.insert(candidate)
    return candidate
  }
}
