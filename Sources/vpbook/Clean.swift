import ArgumentParser
import Foundation
import VPNotebook

struct Clean: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Delete the notebook cache (and, with --outputs, the reports in output/).")

  @Option(help: "The per-block cache folder.")
  var cacheDir = ".cache/notebooks"

  @Flag(help: "Also delete output/*.html and output/*.json.")
  var outputs = false

  func run() throws {
    let count = try NotebookRunner.cleanCache(directory: cacheDir)
    note("removed \(cacheDir) (\(count) cached block\(count == 1 ? "" : "s"))")
    if outputs {
      let folder = "output"
      let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
      var removed = 0
      for name in names where name.hasSuffix(".html") || name.hasSuffix(".json") {
        try FileManager.default.removeItem(atPath: folder + "/" + name)
        removed += 1
      }
      note("removed \(removed) report file\(removed == 1 ? "" : "s") from \(folder)/")
    }
  }
}
