import Foundation
import VPImage

/// Checks a report in a real headless browser (Debian's `chromium`): it renders, the screenshot is not
/// blank, every SVG and image has a non-zero laid-out size, and the console stays silent.
///
/// Two browser runs: a screenshot of the report as it is (`--screenshot`, console messages on stderr with
/// `--enable-logging=stderr --v=0`), and `--dump-dom` of a copy with a small probe script appended that,
/// after layout, writes what it measured into the DOM.
public enum BrowserCheck {
  /// What the browser saw.
  public struct Report: Sendable {
    /// The browser binary used.
    public var browser: String
    /// The screenshot's size.
    public var screenshotWidth: Int
    public var screenshotHeight: Int
    /// Standard deviation of the screenshot's grey levels (0 for a blank page), in [0, 1].
    public var pixelStandardDeviation: Double
    /// The share of pixels that are not white.
    public var inkShare: Double
    /// Counts measured by the probe after layout.
    public var svgCount: Int
    public var emptySVGCount: Int
    public var imageCount: Int
    public var brokenImageCount: Int
    public var figureCount: Int
    public var tableCount: Int
    /// The document's height in CSS pixels.
    public var documentHeight: Int
    /// Whether the report's title element was found.
    public var hasTitle: Bool
    /// Console messages and page errors (from both runs).
    public var consoleMessages: [String]
    /// Where the screenshot was written.
    public var screenshotPath: String

    /// Everything that is wrong, as sentences; empty when the report passes.
    public var problems: [String] {
      var problems: [String] = []
      if !hasTitle { problems.append("the report's title was not rendered") }
      if pixelStandardDeviation < 0.02 || inkShare < 0.005 {
        problems.append(
          "the screenshot looks blank (grey-level std \(pixelStandardDeviation), ink \(inkShare))")
      }
      if svgCount == 0 { problems.append("no SVG chart was laid out") }
      if emptySVGCount > 0 { problems.append("\(emptySVGCount) of \(svgCount) SVGs have zero size") }
      if brokenImageCount > 0 { problems.append("\(brokenImageCount) of \(imageCount) images did not decode") }
      if documentHeight < 200 { problems.append("the document is only \(documentHeight) px tall") }
      for message in consoleMessages { problems.append("console: \(message)") }
      return problems
    }
  }

  /// The browser to use: `$VPBOOK_CHROMIUM`, else the first of chromium, chromium-browser, google-chrome on
  /// the PATH; nil when there is none.
  public static func findBrowser() -> String? {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["VPBOOK_CHROMIUM"], !explicit.isEmpty { return explicit }
    let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
      for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      }
    }
    return nil
  }

  /// The probe appended to a copy of the report: it measures after the load event and writes one line of
  /// `key=value;` pairs into `<pre id="vp-browser-probe">`.
  static let probe = """
    <script>
    (function () {
      var errors = 0;
      window.addEventListener('error', function () { errors += 1; }, true);
      window.addEventListener('load', function () {
        var svgs = document.querySelectorAll('svg');
        var empty = 0;
        svgs.forEach(function (s) { var r = s.getBoundingClientRect(); if (!(r.width > 0 && r.height > 0)) empty += 1; });
        var images = document.querySelectorAll('img');
        var broken = 0;
        images.forEach(function (i) {
          var r = i.getBoundingClientRect();
          if (!i.complete || i.naturalWidth === 0 || !(r.width > 0 && r.height > 0)) broken += 1;
        });
        var out = document.createElement('pre');
        out.id = 'vp-browser-probe';
        out.textContent = 'svgs=' + svgs.length + ';emptysvgs=' + empty + ';images=' + images.length +
          ';broken=' + broken + ';figures=' + document.querySelectorAll('figure').length +
          ';tables=' + document.querySelectorAll('table').length +
          ';height=' + Math.round(document.documentElement.scrollHeight) +
          ';title=' + (document.querySelector('h1.vp-title') ? 1 : 0) + ';errors=' + errors + ';';
        document.body.appendChild(out);
      });
    })();
    </script>
    """

  /// Runs both checks on the HTML file at `path`.
  ///
  /// - Parameters:
  ///   - browser: the browser binary (default: `findBrowser()`).
  ///   - screenshot: where to write the screenshot (default: next to a temporary copy).
  /// - Throws: `NotebookError` when no browser is found or it fails to run.
  public static func run(htmlFile path: String, browser: String? = nil, screenshot: String? = nil) throws -> Report {
    guard let browser = browser ?? findBrowser() else {
      throw NotebookError("no headless browser found (install Debian's chromium: scripts/setup.sh --browser)")
    }
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
      "vpbook-browser-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let reportURL = URL(fileURLWithPath: path).standardizedFileURL
    let screenshotPath = screenshot ?? work.appendingPathComponent("screenshot.png").path
    let profile = work.appendingPathComponent("profile").path
    let common = [
      "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
      "--disable-extensions", "--disable-background-networking", "--user-data-dir=\(profile)",
      "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0",
    ]
    let shot = try execute(
      browser, common + ["--screenshot=\(screenshotPath)", "--window-size=1200,2000", reportURL.absoluteString])
    guard FileManager.default.fileExists(atPath: screenshotPath) else {
      throw NotebookError("the browser wrote no screenshot (exit \(shot.status)): \(shot.stderr.suffix(2000))")
    }
    let image: Image
    do {
      image = try Image(contentsOfFile: screenshotPath)
    } catch {
      throw NotebookError("cannot read the screenshot: \(error)")
    }
    var sum = 0.0
    var squares = 0.0
    var ink = 0
    let pixels = image.width * image.height
    for p in 0..<pixels {
      var grey: Float = 0
      for c in 0..<image.channels { grey += image.pixels[p * image.channels + c] }
      let value = Double(grey) / Double(image.channels)
      sum += value
      squares += value * value
      if value < 0.9 { ink += 1 }
    }
    let mean = sum / Double(max(1, pixels))
    let deviation = max(0, squares / Double(max(1, pixels)) - mean * mean).squareRoot()

    var html = try String(contentsOfFile: path, encoding: .utf8)
    if let range = html.range(of: "</body>", options: .backwards) {
      html.replaceSubrange(range, with: probe + "\n</body>")
    } else {
      html += probe
    }
    let probed = work.appendingPathComponent("probed.html")
    try AtomicFile.write(html, to: probed.path)
    let dump = try execute(browser, common + ["--dump-dom", probed.absoluteString])
    guard let start = dump.stdout.range(of: "<pre id=\"vp-browser-probe\">"),
      let end = dump.stdout.range(of: "</pre>", range: start.upperBound..<dump.stdout.endIndex)
    else {
      throw NotebookError("the probe did not run (exit \(dump.status)): \(dump.stderr.suffix(2000))")
    }
    var values: [String: Int] = [:]
    for pair in dump.stdout[start.upperBound..<end.lowerBound].split(separator: ";") {
      let parts = pair.split(separator: "=")
      if parts.count == 2, let value = Int(parts[1]) { values[String(parts[0])] = value }
    }
    var console = (consoleMessages(shot.stderr) + consoleMessages(dump.stderr))
    if let errors = values["errors"], errors > 0 { console.append("\(errors) error event(s) while loading") }
    return Report(
      browser: browser, screenshotWidth: image.width, screenshotHeight: image.height,
      pixelStandardDeviation: deviation, inkShare: Double(ink) / Double(max(1, pixels)),
      svgCount: values["svgs"] ?? 0, emptySVGCount: values["emptysvgs"] ?? 0, imageCount: values["images"] ?? 0,
      brokenImageCount: values["broken"] ?? 0, figureCount: values["figures"] ?? 0, tableCount: values["tables"] ?? 0,
      documentHeight: values["height"] ?? 0, hasTitle: values["title"] == 1, consoleMessages: console,
      screenshotPath: screenshotPath)
  }

  /// The page's console messages among the browser's log lines (`…:CONSOLE(12)] "message", source: …`).
  static func consoleMessages(_ log: String) -> [String] {
    log.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
  }

  private static func execute(_ executable: String, _ arguments: [String]) throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = environment["HOME"] ?? NSTemporaryDirectory()
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw NotebookError("cannot start \(executable): \(error)")
    }
    // Read both pipes while the browser runs so that neither fills up.
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let done = DispatchSemaphore(value: 0)
    let handle = err.fileHandleForReading
    Thread {
      errBox.data = handle.readDataToEndOfFile()
      done.signal()
    }.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    done.wait()
    return (
      process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errBox.data, as: UTF8.self)
    )
  }
}
