internal import CCmark

/// Owns one parsed cmark tree: the only place where a cmark tree is freed.
///
/// The C pointers never leave this module: `MarkdownDocument` copies what it needs into Swift values while the
/// tree is alive, and rendering builds and consumes a fresh tree inside one call.
final class CMarkTree {
  /// The document node.
  let root: OpaquePointer

  /// cmark parse options used everywhere in this module: the default options plus `CMARK_OPT_SMART`
  /// (curly quotes, en and em dashes in prose; code spans and code blocks are left untouched), because the
  /// report is a paper-like document.
  static let parseOptions: Int32 = CMARK_OPT_DEFAULT | CMARK_OPT_SMART

  /// Parses `text` (UTF-8) and consolidates adjacent text nodes, so that a word like `@fig-acc` is never split
  /// across nodes by smart punctuation.
  init(parsing text: String) {
    var text = text
    let root = text.withUTF8 { buffer in
      buffer.withMemoryRebound(to: CChar.self) { chars in
        cmark_parse_document(chars.baseAddress, chars.count, CMarkTree.parseOptions)
      }
    }
    guard let root else { fatalError("cmark_parse_document returned NULL (out of memory)") }
    cmark_consolidate_text_nodes(root)
    self.root = root
  }

  deinit {
    cmark_node_free(root)
  }

  /// Replaces `old` by `new` in the tree and frees `old` (`cmark_node_replace` only unlinks it).
  func replace(_ old: OpaquePointer, with new: OpaquePointer) {
    cmark_node_replace(old, new)
    cmark_node_free(old)
  }

  /// Unlinks `node` and frees it with its children.
  func remove(_ node: OpaquePointer) {
    cmark_node_unlink(node)
    cmark_node_free(node)
  }

  /// The children of `node`, in order.
  static func children(of node: OpaquePointer) -> [OpaquePointer] {
    var result: [OpaquePointer] = []
    var child = cmark_node_first_child(node)
    while let current = child {
      result.append(current)
      child = cmark_node_next(current)
    }
    return result
  }

  /// Every node below `node` (not `node` itself) in document order, with the nodes on the path to it.
  static func descendants(of node: OpaquePointer) -> [OpaquePointer] {
    var result: [OpaquePointer] = []
    func visit(_ parent: OpaquePointer) {
      var child = cmark_node_first_child(parent)
      while let current = child {
        result.append(current)
        visit(current)
        child = cmark_node_next(current)
      }
    }
    visit(node)
    return result
  }

  /// The literal of a text, code, HTML or code block node, or "".
  static func literal(_ node: OpaquePointer) -> String {
    cmark_node_get_literal(node).map { String(cString: $0) } ?? ""
  }

  /// The info string of a code block node, or "".
  static func fenceInfo(_ node: OpaquePointer) -> String {
    cmark_node_get_fence_info(node).map { String(cString: $0) } ?? ""
  }

  /// The plain text of the inline content below `node`: text and code literals, breaks as spaces.
  static func plainText(_ node: OpaquePointer) -> String {
    var text = ""
    for child in descendants(of: node) {
      switch cmark_node_get_type(child) {
      case CMARK_NODE_TEXT, CMARK_NODE_CODE: text += literal(child)
      case CMARK_NODE_SOFTBREAK, CMARK_NODE_LINEBREAK: text += " "
      default: break
      }
    }
    return text
  }

  /// Renders `node` and what is below it as HTML; `unsafe` lets raw HTML and dangerous URLs through.
  static func renderHTML(_ node: OpaquePointer, unsafe: Bool) -> String {
    let options = CMarkTree.parseOptions | (unsafe ? CMARK_OPT_UNSAFE : CMARK_OPT_DEFAULT)
    guard let chars = cmark_render_html(node, options) else { return "" }
    defer { cmark_get_default_mem_allocator().pointee.free(chars) }
    return String(cString: chars)
  }

  /// A new node of `type`; the caller links it into a tree that frees it.
  static func newNode(_ type: cmark_node_type) -> OpaquePointer {
    guard let node = cmark_node_new(type) else {
      fatalError("cmark_node_new returned NULL (out of memory)")
    }
    return node
  }

  /// A custom block node that renders as `html`, whatever the safe-mode option.
  static func customBlock(html: String) -> OpaquePointer {
    let node = newNode(CMARK_NODE_CUSTOM_BLOCK)
    cmark_node_set_on_enter(node, html)
    cmark_node_set_on_exit(node, "")
    return node
  }

  /// A text node holding `text`.
  static func textNode(_ text: String) -> OpaquePointer {
    let node = newNode(CMARK_NODE_TEXT)
    cmark_node_set_literal(node, text)
    return node
  }

  /// A link node to `url` whose content is the text `text`.
  static func linkNode(url: String, text: String) -> OpaquePointer {
    let node = newNode(CMARK_NODE_LINK)
    cmark_node_set_url(node, url)
    cmark_node_append_child(node, textNode(text))
    return node
  }
}
