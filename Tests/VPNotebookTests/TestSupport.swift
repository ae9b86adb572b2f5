import Foundation
// The shared assertions (golden files, well-formed markup, error descriptions) for every file of this target.
@_exported import VPTestSupport
import XCTest

/// Tests/VPNotebookTests/Golden, found from this file's path.
let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Golden")

/// `.build/release/vpbook` (or the debug one) of this package.
func vpbookBinary() throws -> String {
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  for configuration in ["release", "debug"] {
    let path = root.appendingPathComponent(".build/\(configuration)/vpbook").path
    if FileManager.default.isExecutableFile(atPath: path) { return path }
  }
  XCTFail("no vpbook binary under \(root.path)/.build: build it first (make test does)")
  throw XCTSkip("no binary")
}

func runVPBook(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) throws
  -> (status: Int32, stdout: String, stderr: String)
{
  let process = Process()
  process.executableURL = URL(fileURLWithPath: try vpbookBinary())
  process.arguments = arguments
  // The binary as a user runs it: not under a sanitizer runtime this test process may have been given.
  let inherited = ProcessInfo.processInfo.environment.filter { key, _ in
    key != "LD_PRELOAD" && !["ASAN_", "TSAN_", "LSAN_", "UBSAN_"].contains { key.hasPrefix($0) }
  }
  process.environment = inherited.merging(environment) { $1 }
  if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (
    process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self)
  )
}

/// Lines collected from runner events on any thread.
final class CollectedLines: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [String] = []

  func add(_ text: String) {
    lock.lock()
    lines.append(text)
    lock.unlock()
  }

  var texts: [String] {
    lock.lock()
    defer { lock.unlock() }
    return lines
  }

  func removeAll() {
    lock.lock()
    lines.removeAll()
    lock.unlock()
  }
}
