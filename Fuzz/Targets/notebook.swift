// A notebook: front matter, Markdown through cmark, the block attributes, cross-references, and every
// statement of every vp block decoded as the planner would.
import VPNotebook

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  if let source = try? NotebookSource.parse(text, file: "fuzz.md") {
    for step in source.steps {
      for line in step.code.split(separator: "\n") { _ = try? BlockLanguage.check(String(line), file: "fuzz.md") }
    }
    _ = source.render(outputs: [:])
  }
  return 0
}
