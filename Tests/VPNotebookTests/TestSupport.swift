import Foundation
import XCTest

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Tests/VPNotebookTests/Golden, found from this file's path so UPDATE_GOLDEN=1 can write into the sources.
let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Golden")

/// Compares `actual` with the committed golden file `name`; with UPDATE_GOLDEN=1 it rewrites the file instead.
func assertGolden(
  _ actual: String, named name: String, file: StaticString = #filePath, line: UInt = #line
) {
  let url = goldenDirectory.appendingPathComponent(name)
  if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
    XCTAssertNoThrow(
      try actual.write(to: url, atomically: true, encoding: .utf8), file: file, line: line)
    return
  }
  guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
    XCTFail(
      "missing golden file \(name); run the tests with UPDATE_GOLDEN=1 to create it", file: file,
      line: line)
    return
  }
  if actual != expected {
    let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let first = zip(actualLines, expectedLines).enumerated().first { $0.element.0 != $0.element.1 }
    let location =
      first.map { "line \($0.offset + 1):\n  got      \($0.element.0)\n  expected \($0.element.1)" }
      ?? "lengths differ (\(actualLines.count) vs \(expectedLines.count) lines)"
    let message =
      "\(name) differs from its golden file at \(location) (UPDATE_GOLDEN=1 regenerates)"
    XCTFail(message, file: file, line: line)
  }
}

/// Fails unless `markup` is one well-formed XML document (FoundationXML's parser where available,
/// otherwise a tag-balance check).
func assertWellFormedXML(_ markup: String, file: StaticString = #filePath, line: UInt = #line) {
  #if canImport(FoundationXML) || os(macOS)
    XCTAssertNoThrow(try XMLDocument(xmlString: markup, options: []), file: file, line: line)
  #else
    XCTAssertNil(tagBalanceProblem(markup), file: file, line: line)
  #endif
  XCTAssertNil(tagBalanceProblem(markup), file: file, line: line)
}

/// A small tag-balance check: every `<a>` closed by `</a>` in order, attribute quotes paired, no stray `<`
/// or `&` in text. Returns a description of the first problem, or nil.
func tagBalanceProblem(_ markup: String) -> String? {
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

/// Runs `body`, expecting a `NotebookError`-like error whose description is `expected`.
func assertThrowsDescription(
  _ expected: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
) {
  do {
    try body()
    XCTFail("expected an error: \(expected)", file: file, line: line)
  } catch {
    XCTAssertEqual("\(error)", expected, file: file, line: line)
  }
}
