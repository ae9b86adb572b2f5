import ArgumentParser
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

  @Flag(
    help:
      "Portable mode: pin the kernels (OpenBLAS's Haswell set, vpbook's AVX2 paths) so that the numbers are bit-identical on any x86-64 CPU with AVX2 (as the front matter's portable: true)."
  )
  var portable = false

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
