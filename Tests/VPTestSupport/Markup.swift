import Foundation
import XCTest

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Fails unless `markup` is one well-formed XML document (FoundationXML's parser where available,
/// otherwise a tag-balance check).
public func assertWellFormedXML(_ markup: String, file: StaticString = #filePath, line: UInt = #line) {
  #if canImport(FoundationXML) || os(macOS)
    XCTAssertNoThrow(try XMLDocument(xmlString: markup, options: []), file: file, line: line)
  #else
    XCTAssertNil(tagBalanceProblem(markup), file: file, line: line)
  #endif
  XCTAssertNil(tagBalanceProblem(markup), file: file, line: line)
}

/// A small tag-balance check: every `<a>` closed by `</a>` in order, attribute quotes paired, no stray `<`
/// or `&` in text. Returns a description of the first problem, or nil.
public func tagBalanceProblem(_ markup: String) -> String? {
  var stack: [String] = []
  let chars = Array(markup)
  var i = 0
  while i < chars.count {
    if chars[i] == "&" {
      let rest = String(chars[i..<min(chars.count, i + 10)])
      guard let semicolon = rest.firstIndex(of: ";"),
        rest[rest.index(after: rest.startIndex)..<semicolon].allSatisfy({
          $0.isLetter || $0.isNumber || $0 == "#"
        })
      else { return "bare & at \(i)" }
      i += 1
      continue
    }
    guard chars[i] == "<" else {
      if chars[i] == ">" { return "bare > at \(i)" }
      i += 1
      continue
    }
    var j = i + 1
    var quote: Character?
    while j < chars.count {
      if let q = quote {
        if chars[j] == q {
          quote = nil
        } else if chars[j] == "<" {
          return "< inside an attribute at \(j)"
        }
      } else if chars[j] == "\"" || chars[j] == "'" {
        quote = chars[j]
      } else if chars[j] == ">" {
        break
      }
      j += 1
    }
    guard j < chars.count else { return "unclosed tag at \(i)" }
    let tag = String(chars[(i + 1)..<j])
    if tag.hasPrefix("/") {
      let name = String(tag.dropFirst())
      guard stack.last == name else {
        return "</\(name)> closes <\(stack.last ?? "nothing")> at \(i)"
      }
      stack.removeLast()
    } else if !tag.hasSuffix("/") && !tag.hasPrefix("?") && !tag.hasPrefix("!") {
      stack.append(String(tag.prefix { $0 != " " && $0 != "\n" }))
    }
    i = j + 1
  }
  return stack.isEmpty ? nil : "unclosed <\(stack.joined(separator: "> <"))>"
}
