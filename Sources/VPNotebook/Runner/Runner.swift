import Foundation
import VPEngine
import VPReport
import VPTensor

/// What happened to a block in a run.
public enum BlockStatus: String, Codable, Sendable {
  /// Executed on the engine.
  case ran
  /// Served from the cache.
  case cached
  /// Failed (a static error or an error while running).
  case failed
  /// Not run because a block it depends on failed (`--keep-going`).
  case skipped
  /// Not run because the run stopped at an earlier failure.
  case notRun = "not-run"
}

/// Progress of a notebook run, for the command line.
public enum RunnerEvent: Sendable {
  /// A block starts: `[3/9] notebooks/tour.md:41 compare …`.
  case blockStarted(ordinal: Int, total: Int, location: String, summary: String)
  /// A block is done.
  case blockFinished(ordinal: Int, status: BlockStatus, seconds: Double, message: String?)
  /// Training progress of one run (one method, one seed).
  case training(label: String, progress: TrainingProgress)
  /// One run (one seed) finished.
  case trainingFinished(label: String, testAccuracy: Double, seconds: Double)
  /// Something went wrong that does not fail the block (a cache entry could not be written).
  case warning(String)
  /// A line of progress that is not a training run's (a search's trials).
  case note(String)
}

/// How to run a notebook.
public struct RunnerOptions: Sendable {
  /// `name=value` overrides, as given to `-p`.
  public var parameterOverrides: [String] = []
  /// A YAML file of parameter values (`--params`).
  public var parametersFile: String?
  /// Let the authors' raw HTML through (`--unsafe`).
  public var unsafe = false
  /// Read and write the per-block cache (`--no-cache` turns it off).
  public var useCache = true
  /// Continue after a failing block with the blocks that do not depend on it.
  public var keepGoing = false
  /// The cache folder.
  public var cacheDirectory = ".cache/notebooks"
  /// The report; nil for `output/NAME.html`.
  public var outputHTML: String?
  /// The manifest; nil for the report's path with `.json`.
  public var outputJSON: String?
  /// Written into cache keys and the appendix.
  public var vpbookVersion = "dev"
  /// Receives progress.
  public var onEvent: (@Sendable (RunnerEvent) -> Void)?

  public init() {}
}

/// One block's record in a finished run.
public struct BlockReport: Codable, Sendable {
  public var ordinal: Int
  /// The file line of the block's first statement.
  public var line: Int
  public var anchor: String
  public var summary: String
  public var status: BlockStatus
  public var seconds: Double
  /// The block's cache key (nil when it did not get that far).
  public var key: String?
  /// The parameters the block reads.
  public var parameters: [String]
  /// The error (`file:line: message`) of a failed block, or why a block was skipped.
  public var message: String?
}

/// The result of `NotebookRunner.run`.
public struct RunOutcome: Sendable {
  /// The report written.
  public var htmlPath: String
  /// The manifest written (nil when the notebook could not be parsed).
  public var jsonPath: String?
  /// Every block in order.
  public var blocks: [BlockReport]
  /// Every error, in order (document errors first).
  public var errors: [NotebookError]
  /// The whole HTML page.
  public var html: String

  /// Whether every block ran or came from the cache.
  public var succeeded: Bool { errors.isEmpty }
  /// How many blocks were executed on the engine.
  public var executedCount: Int { blocks.filter { $0.status == .ran }.count }
  /// How many blocks came from the cache.
  public var cachedCount: Int { blocks.filter { $0.status == .cached }.count }
}

/// Runs a notebook: plans its blocks, serves what it can from the cache, executes the rest in order over one
/// session, and writes one self-contained HTML report and a JSON manifest (both atomically).
public final class NotebookRunner {
  /// Bumped when the cache key's recipe changes.
  static let keyVersion = "vpbook-notebook-cache-1"

  let resources: RunnerResources

  /// - Parameter resources: models and data kept between runs (share one across `watch` iterations).
  public init(resources: RunnerResources = RunnerResources()) {
    self.resources = resources
  }

  /// Deletes the cache folder; returns how many block entries it held.
  @discardableResult
  public static func cleanCache(directory: String) throws -> Int {
    try BlockCache.clean(directory: directory)
  }

  /// The report's default path: `output/NAME.html` for `…/NAME.md`.
  public static func defaultOutput(for notebook: String) -> String {
    let name = URL(fileURLWithPath: notebook).deletingPathExtension().lastPathComponent
    return "output/\(name).html"
  }

  /// Runs the notebook at `path`.
  ///
  /// - Throws: `NotebookError` only for problems with the parameters given on the command line (an unknown
  ///   name, a wrong type, an unreadable `--params` file) and for a report that cannot be written; every
  ///   problem inside the notebook is reported in the outcome and in the report.
  public func run(notebook path: String, options: RunnerOptions) throws -> RunOutcome {
    let htmlPath = options.outputHTML ?? NotebookRunner.defaultOutput(for: path)
    let jsonPath =
      options.outputJSON ?? (htmlPath.hasSuffix(".html") ? String(htmlPath.dropLast(5)) : htmlPath) + ".json"
    let started = Date()

    // A notebook that cannot be read at all is an error for the caller; nothing is written.
    let text = try NotebookSource.read(path: path)
    let source: NotebookSource
    do {
      source = try NotebookSource.parse(text, file: path)
    } catch let error as NotebookError {
      let html = ReportAssembler.errorPage(file: path, error: error)
      try AtomicFile.write(html, to: htmlPath)
      return RunOutcome(htmlPath: htmlPath, jsonPath: nil, blocks: [], errors: [error], html: html)
    }
    let parameters = try source.parameters.resolve(
      overrides: options.parameterOverrides, file: options.parametersFile)
    let baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let plan = Planner.plan(source, parameters: parameters, baseDirectory: baseDirectory)

    let cache = options.useCache ? BlockCache(directory: options.cacheDirectory) : nil
    let digests = DigestStore(file: options.useCache ? options.cacheDirectory + "/digests.json" : nil)
    let session = Session()
    let ledgers =
      options.useCache
      ? options.cacheDirectory + "/ledgers"
      : URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("vpbook-ledgers-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    let execution = ExecutionContext(
      session: session, resources: resources, emit: options.onEvent, ledgerDirectory: ledgers)

    var reports: [BlockReport] = []
    var keys: [Int: String] = [:]
    var blockPanels: [Int: [Panel]] = [:]
    var errors: [NotebookError] = []
    var inputs: [String: InputDigest] = [:]
    var stopped = false
    var unavailable = Set<Int>()  // ordinals of blocks that failed or were skipped

    for block in plan {
      let step = block.step
      var report = BlockReport(
        ordinal: step.ordinal, line: block.firstLine, anchor: step.anchor, summary: block.summary, status: .notRun,
        seconds: 0, key: nil, parameters: block.parametersRead, message: nil)
      defer { reports.append(report) }
      if stopped { continue }
      options.onEvent?(
        .blockStarted(
          ordinal: step.ordinal, total: plan.count, location: "\(path):\(block.summaryLine)", summary: block.summary))
      let blockStart = Date()
      func fail(_ error: NotebookError) {
        report.status = .failed
        report.message = error.description
        errors.append(error)
        unavailable.insert(step.ordinal)
        if !options.keepGoing { stopped = true }
      }
      defer {
        report.seconds = Date().timeIntervalSince(blockStart)
        options.onEvent?(
          .blockFinished(ordinal: step.ordinal, status: report.status, seconds: report.seconds, message: report.message)
        )
      }
      if let error = block.error {
        fail(error)
        continue
      }
      if let missing = block.dependencies.sorted(by: { $0.key < $1.key }).first(where: {
        unavailable.contains($0.value)
      }) {
        let (slot, producer) = (missing.key, missing.value)
        let line = plan[producer - 1].firstLine
        report.status = .skipped
        report.message = "needs \(slot.noun) from step \(producer) (line \(line)), which did not run"
        unavailable.insert(step.ordinal)
        continue
      }
      let key: String
      do {
        key = try blockKey(
          block, keys: keys, parameters: parameters, digests: digests, inputs: &inputs, file: path,
          version: options.vpbookVersion)
      } catch let error as NotebookError {
        fail(error)
        continue
      } catch {
        fail(NotebookError("\(error)", file: path, line: block.firstLine))
        continue
      }
      report.key = key
      keys[step.ordinal] = key
      switch cache?.load(key) {
      case .hit(let entry, let deltas)?:
        for located in block.statements { located.statement.restore(into: session) }
        for group in entry.groups { session.register(group, delta: deltas[group.name]) }
        blockPanels[step.ordinal] = entry.panels
        report.status = .cached
        continue
      case .corrupt(let reason)?:
        options.onEvent?(.warning("the cache entry of step \(step.ordinal) is not used: \(reason); recomputing"))
      case .miss?, nil:
        break
      }
      do {
        let output = try execute(block, context: execution, file: path)
        blockPanels[step.ordinal] = output.panels
        report.status = .ran
        if let cache {
          let entry = CacheEntry(
            format: BlockCache.format, key: key, notebook: path, line: block.firstLine, code: block.code,
            panels: output.panels, groups: output.groups, deltaGroups: [],
            seconds: Date().timeIntervalSince(blockStart), created: ISO8601DateFormatter().string(from: Date()))
          do {
            try cache.store(entry, deltas: output.deltas)
          } catch {
            options.onEvent?(.warning("the cache entry of step \(step.ordinal) was not written: \(error)"))
          }
        }
      } catch let error as NotebookError {
        fail(error)
      } catch {
        fail(NotebookError("\(error)", file: path, line: block.firstLine))
      }
    }
    digests.save()

    let context = ReportAssembler.Context(
      source: source, plan: plan, reports: reports, panels: blockPanels, parameters: parameters, session: session,
      inputs: inputs.values.sorted { $0.path < $1.path }, errors: errors, options: options,
      seconds: Date().timeIntervalSince(started))
    let html = ReportAssembler.page(context)
    // A search's temporary ledger (with --no-cache) is gone with the run.
    if !options.useCache { try? FileManager.default.removeItem(atPath: ledgers) }
    let tables = NotebookRunner.tableFiles(blockPanels, htmlPath: htmlPath)
    try AtomicFile.writeSet(
      [(htmlPath, Data(html.utf8)), (jsonPath, ReportAssembler.manifest(context))] + tables.files)
    NotebookRunner.removeStaleTables(in: tables.folder, keeping: Set(tables.files.map(\.path)))
    return RunOutcome(htmlPath: htmlPath, jsonPath: jsonPath, blocks: reports, errors: errors, html: html)
  }

  /// Every results table of the report as CSV, in `NAME.tables/` beside `NAME.html`: `03-1-test-accuracy.csv`
  /// is the first table of step 3.
  static func tableFiles(_ panels: [Int: [Panel]], htmlPath: String) -> (
    folder: String, files: [(path: String, data: Data)]
  ) {
    let folder = (htmlPath.hasSuffix(".html") ? String(htmlPath.dropLast(5)) : htmlPath) + ".tables"
    var files: [(path: String, data: Data)] = []
    for ordinal in panels.keys.sorted() {
      for (index, panel) in panels[ordinal]!.filter({ $0.csv != nil }).enumerated() {
        let slug = String(
          (panel.title ?? "table").lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
            .split(separator: "-", omittingEmptySubsequences: true).joined(separator: "-").prefix(48))
        let name = String(format: "%02d-%d-", ordinal, index + 1) + (slug.isEmpty ? "table" : slug) + ".csv"
        files.append((folder + "/" + name, Data(panel.csv!.utf8)))
      }
    }
    return (folder, files)
  }

  /// Removes the CSV files of an earlier run that this run did not write (a table that no longer exists).
  static func removeStaleTables(in folder: String, keeping: Set<String>) {
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    where name.hasSuffix(".csv") && !keeping.contains(folder + "/" + name) {
      try? FileManager.default.removeItem(atPath: folder + "/" + name)
    }
  }

  /// Whether the notebook at `path` asks for portable mode (`portable: true` in its front matter); false when
  /// it cannot be read or parsed (the run reports that itself).
  public static func asksForPortableMode(_ path: String) -> Bool {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8),
      let split = try? FrontMatter.split(text, file: path)
    else { return false }
    return split.frontMatter.portable
  }

  /// The SHA-256 of the running executable: an engine change invalidates every cached block even when the
  /// version string was not bumped (computed once per process).
  static let buildIdentity: String = {
    let path = FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
    return (try? SHA256.hex(fileAt: path)) ?? "unknown"
  }()

  /// The cache key of a block: the runner and vpbook versions, the code after substitution, the values of the
  /// parameters it reads, the keys of the blocks whose state it reads, and the digests of the files it loads.
  private func blockKey(
    _ block: PlannedBlock, keys: [Int: String], parameters: ResolvedParameters, digests: DigestStore,
    inputs: inout [String: InputDigest], file: String, version: String
  ) throws -> String {
    var text =
      "\(NotebookRunner.keyVersion)\nformat \(BlockCache.format)\nvpbook \(version)\nbuild \(NotebookRunner.buildIdentity)\nkernels \(BLASKernels.summary)\ncode\n\(block.code)\n"
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    for (name, value) in parameters.values(of: block.parametersRead) {
      let json = (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? value.text
      text += "param \(name)=\(json)\n"
    }
    for (slot, producer) in block.dependencies.sorted(by: { $0.key < $1.key }) {
      text += "dep \(slot)=\(keys[producer] ?? "?")\n"
    }
    for located in block.statements {
      do {
        for (path, listing) in try located.statement.inputFiles() {
          let digest = try digests.digest(path, listing: listing)
          inputs[path] = digest
          text += "input \(path) \(digest.sha256)\n"
        }
      } catch let error as NotebookError {
        throw NotebookError(error.message, file: file, line: located.line)
      }
    }
    return SHA256.hex(text)
  }

  /// Runs a block's statements in order; an error names the statement's line.
  private func execute(_ block: PlannedBlock, context: ExecutionContext, file: String) throws -> ExecutionOutput {
    var output = ExecutionOutput()
    for located in block.statements {
      do {
        try located.statement.execute(context, into: &output)
      } catch let error as NotebookError {
        throw error.file == nil ? NotebookError(error.message, file: file, line: located.line) : error
      } catch {
        throw NotebookError("\(located.raw.verb): \(error)", file: file, line: located.line)
      }
    }
    return output
  }
}
