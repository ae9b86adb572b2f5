internal import CCmark

extension MarkdownDocument {
  /// Renders the document as an HTML fragment (no `<html>` wrapper).
  ///
  /// A fresh cmark tree is built from the body. Each top-level block whose index is a key of `outputs` is
  /// replaced by a `CMARK_NODE_CUSTOM_BLOCK` whose "on enter" text is the given HTML: cmark prints it verbatim
  /// in every mode. Everything else is rendered by cmark in safe mode unless `unsafe` is true (cmark 0.30
  /// is safe by default; `CMARK_OPT_SAFE` no longer does anything, `CMARK_OPT_UNSAFE` turns it off): the
  /// authors' raw HTML becomes `<!-- raw HTML omitted -->` and `javascript:` and similar URLs are emptied,
  /// while the runner's fragments survive.
  ///
  /// Headings get the ids listed in `headings`. When `crossReferences` is given, every `@fig-…`/`@tbl-…`
  /// mention of a known label in prose becomes a link, `<a href="#fig-acc">Figure 2</a>` (plain text inside
  /// another link or an image's alt text); unknown labels are left as they are (check them first with
  /// `CrossReferences.validate(_:file:)`).
  ///
  /// - Parameters:
  ///   - outputs: HTML fragments keyed by top-level block index (`MarkdownBlock.index`); trusted.
  ///   - unsafe: let the authors' raw HTML and unsafe URLs through.
  ///   - crossReferences: the numbering of figures and tables, or nil to leave mentions alone.
  public func render(
    replacing outputs: [Int: String] = [:], unsafe: Bool = false,
    crossReferences: CrossReferences? = nil
  ) -> String {
    let tree = CMarkTree(parsing: body)
    var headingOrdinal = 0
    var headingNodes: [(node: OpaquePointer, heading: Heading)] = []
    var textNodes: [OpaquePointer] = []

    for (index, child) in CMarkTree.children(of: tree.root).enumerated() {
      let nodes = [child] + CMarkTree.descendants(of: child)
      let headingsHere = nodes.filter { cmark_node_get_type($0) == CMARK_NODE_HEADING }
      if let html = outputs[index] {
        headingOrdinal += headingsHere.count
        tree.replace(
          child, with: CMarkTree.customBlock(html: html.hasSuffix("\n") ? html : html + "\n"))
        continue
      }
      for node in headingsHere {
        if headingOrdinal < headings.count { headingNodes.append((node, headings[headingOrdinal])) }
        headingOrdinal += 1
      }
      if crossReferences != nil {
        textNodes += nodes.filter {
          cmark_node_get_type($0) == CMARK_NODE_TEXT && CMarkTree.literal($0).contains("@")
        }
      }
    }

    if let crossReferences {
      for node in textNodes {
        linkReferences(in: node, tree: tree, crossReferences: crossReferences)
      }
    }
    for (node, heading) in headingNodes {
      var html = CMarkTree.renderHTML(node, unsafe: unsafe)
      let tag = "<h\(heading.level)>"
      if html.hasPrefix(tag) {
        html = "<h\(heading.level) id=\"\(HTML.escape(heading.id))\">" + html.dropFirst(tag.count)
      }
      tree.replace(node, with: CMarkTree.customBlock(html: html))
    }
    return CMarkTree.renderHTML(tree.root, unsafe: unsafe)
  }

  /// Splits a text node around its mentions of known labels, putting links (or plain text inside a link)
  /// in their place.
  private func linkReferences(
    in node: OpaquePointer, tree: CMarkTree, crossReferences: CrossReferences
  ) {
    let literal = CMarkTree.literal(node)
    let mentions = CrossReferenceScanner.mentions(in: literal).filter {
      crossReferences.target($0.label) != nil
    }
    guard !mentions.isEmpty else { return }
    var insideLink = false
    var parent = cmark_node_parent(node)
    while let current = parent {
      let type = cmark_node_get_type(current)
      if type == CMARK_NODE_LINK || type == CMARK_NODE_IMAGE { insideLink = true }
      parent = cmark_node_parent(current)
    }
    let scalars = Array(literal.unicodeScalars)
    func text(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[range])) }
    var position = 0
    var pending = ""
    for mention in mentions {
      guard let target = crossReferences.target(mention.label) else { continue }
      pending += text(position..<mention.range.lowerBound)
      if insideLink {
        pending += target.name
      } else {
        if !pending.isEmpty { cmark_node_insert_before(node, CMarkTree.textNode(pending)) }
        pending = ""
        cmark_node_insert_before(
          node, CMarkTree.linkNode(url: "#" + target.label, text: target.name))
      }
      position = mention.range.upperBound
    }
    pending += text(position..<scalars.count)
    if pending.isEmpty {
      tree.remove(node)
    } else {
      cmark_node_set_literal(node, pending)
    }
  }
}
