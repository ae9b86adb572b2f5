import ArgumentParser
import Foundation
import VPEngine
import VPNotebook

/// The options `run` and `watch` share.
struct NotebookOptions: ParsableArguments {
  @Argument(help: "The notebook (Markdown with ```vp blocks).")
  var notebook: String

  @Option(name: [.customShort("p"), .customLong("param")], help: "Set a parameter: -p name=value (repeatable).")
  var parameters: [String] = []

  @Option(name: .customLong("params"), help: "A YAML file of parameter values (name: value lines).")
  var parametersFile: String?

  @Option(name: [.customShort("o"), .long], help: "The HTML report (default: output/NAME.html).")
  var output: String?

  @Option(help: "The JSON manifest with every result (default: the report's path with .json).")
  var json: String?

  @Option(help: "The per-block cache folder.")
  var cacheDir = ".cache/notebooks"

  @Flag(help: "Neither read nor write the per-block cache.")
  var noCache = false

  @Flag(help: "After a failing block, go on with the blocks that do not depend on it.")
  var keepGoing = false

  @Flag(help: "Let raw HTML in the prose through (it is sanitised by default).")
  var unsafe = false

  @Flag(help: "List the notebook's parameters and exit.")
  var helpParams = false

  @Flag(help: "No progress output.")
  var quiet = false

  func runnerOptions(progress: RunProgress?) -> RunnerOptions {
    var options = RunnerOptions()
    options.parameterOverrides = parameters
    options.parametersFile = parametersFile
    options.unsafe = unsafe
    options.useCache = !noCache
    options.keepGoing = keepGoing
    options.cacheDirectory = cacheDir
    options.outputHTML = output
    options.outputJSON = json
    options.vpbookVersion = vpbookVersion
    if let progress { options.onEvent = { progress.handle($0) } }
    return options
  }

  /// Prints the parameter table when asked; returns whether it did.
  func printHelpParams() throws -> Bool {
    guard helpParams else { return false }
    let source = try NotebookSource.load(path: notebook)
    print(source.parameters.helpText(), terminator: "")
    return true
  }
}

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a notebook and write one self-contained HTML report (and a JSON manifest).",
    discussion: """
      Blocks run in order over one session. Each block's outputs are cached under .cache/notebooks, keyed on its code, the parameters it reads, the blocks it depends on and the digests of the files it loads, so a second run executes only what changed. The exit status is non-zero when a block failed; the report is written anyway, with a banner that links to the failing block. The block language is documented in docs/NOTEBOOKS.md.

      Examples:
        vpbook run notebooks/tour.md
        vpbook run notebooks/tour.md -p epochs=8 -p seeds=7,8
        vpbook run notebooks/ablation-padding.md --keep-going
      """)

  @OptionGroup var options: NotebookOptions

  func run() throws {
    if try options.printHelpParams() { return }
    let runner = NotebookRunner()
    let succeeded = try runNotebook(runner, options)
    if !succeeded { throw ExitCode(1) }
  }
}

/// Runs once, prints the outcome; false when a block failed. Parameter errors exit with status 2.
func runNotebook(_ runner: NotebookRunner, _ options: NotebookOptions) throws -> Bool {
  let progress = options.quiet ? nil : RunProgress()
  let outcome: RunOutcome
  do {
    outcome = try runner.run(notebook: options.notebook, options: options.runnerOptions(progress: progress))
  } catch let error as NotebookError {
    note("error: \(error)")
    throw ExitCode(2)
  }
  for error in outcome.errors { note("error: \(error)") }
  let failed = outcome.blocks.filter { $0.status == .failed }.count
  let skipped = outcome.blocks.filter { $0.status == .skipped || $0.status == .notRun }.count
  var summary =
    "wrote \(outcome.htmlPath): \(outcome.blocks.count) blocks, \(outcome.executedCount) executed, "
    + "\(outcome.cachedCount) from the cache"
  if failed > 0 { summary += ", \(failed) failed" }
  if skipped > 0 { summary += ", \(skipped) not run" }
  note(summary)
  return outcome.succeeded
}

/// Progress on standard error: one line per block, and the training progress bar.
final class RunProgress: @unchecked Sendable {
  private let bar = ProgressBar(enabled: true)
  private let lock = NSLock()

  func handle(_ event: RunnerEvent) {
    lock.lock()
    defer { lock.unlock() }
    switch event {
    case .blockStarted(let ordinal, let total, let location, let summary):
      note("[\(ordinal)/\(total)] \(location) \(summary)")
    case .training(let label, let progress):
      bar.label = "      " + label
      bar.update(progress)
    case .trainingFinished(let label, let accuracy, let seconds):
      bar.finish()
      note(String(format: "      %@: test %.1f %% in %.1f s", label, accuracy * 100, seconds))
    case .warning(let message):
      note("      warning: \(message)")
    case .blockFinished(_, let status, let seconds, let message):
      switch status {
      case .ran: note(String(format: "      ran in %.1f s", seconds))
      case .cached: note("      from the cache")
      case .failed: note("      failed: \(message ?? "")")
      case .skipped: note("      skipped: \(message ?? "")")
      case .notRun: break
      }
    }
  }
}

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

struct CheckReport: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-report",
    abstract: "Open a report in headless chromium and check that it renders (screenshot, SVG sizes, console).")

  @Argument(help: "The HTML report.")
  var report: String

  @Option(help: "Keep the screenshot here.")
  var screenshot: String?

  func run() throws {
    let result = try BrowserCheck.run(htmlFile: report, screenshot: screenshot)
    print(
      "\(report): \(result.svgCount) SVGs, \(result.imageCount) images, \(result.figureCount) figures, "
        + "\(result.tableCount) tables, \(result.documentHeight) px tall; screenshot \(result.screenshotWidth)×"
        + "\(result.screenshotHeight), grey-level std \(String(format: "%.3f", result.pixelStandardDeviation))")
    let problems = result.problems
    for problem in problems { note("problem: \(problem)") }
    if !problems.isEmpty { throw ExitCode(1) }
  }
}
