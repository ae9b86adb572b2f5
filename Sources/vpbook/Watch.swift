import ArgumentParser
import Foundation
import VPNotebook

struct Watch: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a notebook, then run it again whenever it (or its --params file) is saved.",
    discussion: """
      Only what changed is executed again, thanks to the per-block cache; models and data stay loaded between runs. Stop with Ctrl-C.
      """)

  @OptionGroup var options: NotebookOptions

  @Option(help: "Seconds between checks of the file's modification time.")
  var interval: Double = 0.5

  func run() throws {
    if try options.printHelpParams() { return }
    let runner = NotebookRunner()
    var watched = [options.notebook] + (options.parametersFile.map { [$0] } ?? [])
    watched = watched.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    func stamps() -> [Date?] {
      watched.map { (try? FileManager.default.attributesOfItem(atPath: $0))?[.modificationDate] as? Date }
    }
    while true {
      let before = stamps()
      do {
        _ = try runNotebook(runner, options)
      } catch let exit as ExitCode where exit.rawValue == 2 {
        // A bad parameter: wait for the next save.
      }
      note("watching \(options.notebook) for changes (Ctrl-C to stop)")
      while stamps() == before {
        Thread.sleep(forTimeInterval: max(0.1, interval))
      }
      // Let the editor finish writing.
      Thread.sleep(forTimeInterval: 0.1)
      note("")
    }
  }
}
