import Foundation
import VPFiles
import XCTest

#if canImport(Glibc)
  import Glibc
  /// `RLIMIT_FSIZE` as `getrlimit` takes it (Glibc imports the resource as an enum).
  private let fileSizeLimit = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
#elseif canImport(Darwin)
  import Darwin
  private let fileSizeLimit = RLIMIT_FSIZE
#endif

final class AtomicFileTests: XCTestCase {
  private var directory = ""

  override func setUpWithError() throws {
    directory =
      FileManager.default.temporaryDirectory
      .appendingPathComponent("vpfiles-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func contents(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
  }

  private func listing(_ path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
  }

  func testWriteReplacesTheFile() throws {
    let path = directory + "/out.json"
    try AtomicFile.write(Array("old".utf8), to: path)
    XCTAssertEqual(try contents(path), "old")
    try AtomicFile.write(Data("new, and longer".utf8), to: path)
    XCTAssertEqual(try contents(path), "new, and longer")
    try AtomicFile.write("".utf8, to: path)
    XCTAssertEqual(try contents(path), "")
    XCTAssertEqual(try listing(directory), ["out.json"], "no temporary file is left behind")
  }

  func testAWriteRemovesTheTemporaryFilesOfKilledWritersOfTheSameFile() throws {
    let old = Date().addingTimeInterval(-600)
    func make(_ name: String, modified: Date) throws {
      try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
      try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: directory + "/" + name)
    }
    let dead: Int32 = 4_194_303  // above Linux's pid_max: no such process
    try make(".r.html.\(dead).17.tmp", modified: old)  // a killed writer's: removed
    try make(".r.html.\(dead).18.tmp.old", modified: old)  // a killed pair write's backup: removed
    try make(".r.html.\(dead).19.tmp", modified: Date())  // fresh: maybe another host's live write, kept
    try make(".r.html.\(getppid()).20.tmp", modified: old)  // a live process's: kept
    try make(".r.json.\(dead).21.tmp", modified: old)  // another file's: kept until that file is written
    try AtomicFile.write(Array("new".utf8), to: directory + "/r.html")
    XCTAssertEqual(
      try listing(directory),
      [".r.html.\(dead).19.tmp", ".r.html.\(getppid()).20.tmp", ".r.json.\(dead).21.tmp", "r.html"].sorted())
  }

  /// A pair write killed between its two renames: the report is new, the manifest old, and the journal lists
  /// both temporary files. Recovery finishes the renames: both new.
  func testASetKilledBetweenItsRenamesIsFinishedByTheNextWriter() throws {
    let dead: Int32 = 4_194_303
    let (a, b) = (directory + "/r.html", directory + "/r.json")
    try Data("new html".utf8).write(to: URL(fileURLWithPath: a))  // already renamed
    try Data("old json".utf8).write(to: URL(fileURLWithPath: b))
    let tempB = directory + "/.r.json.\(dead).2.tmp"
    try Data("new json".utf8).write(to: URL(fileURLWithPath: tempB))
    try Data("old json".utf8).write(to: URL(fileURLWithPath: tempB + ".old"))
    let journal = directory + "/.r.html.\(dead).3.set"
    try Data("\(directory)/.r.html.\(dead).1.tmp\n\(a)\n\(tempB)\n\(b)\n".utf8).write(to: URL(fileURLWithPath: journal))
    // A live writer's journal is not touched.
    let live = directory + "/.x.html.\(getppid()).4.set"
    try Data("\(directory)/.x.tmp\n\(directory)/x\n".utf8).write(to: URL(fileURLWithPath: live))
    XCTAssertEqual(AtomicFile.recover(folder: directory), 1)
    XCTAssertEqual(try contents(a), "new html")
    XCTAssertEqual(try contents(b), "new json")
    XCTAssertEqual(try listing(directory), [".x.html.\(getppid()).4.set", "r.html", "r.json"])
    // The next set written there goes through the same recovery first.
    try FileManager.default.removeItem(atPath: live)
    try Data("new json 2".utf8).write(to: URL(fileURLWithPath: tempB))
    try Data("\(tempB)\n\(b)\n".utf8).write(to: URL(fileURLWithPath: journal))
    try AtomicFile.writeTogether([(directory + "/s.txt", Array("s".utf8))])
    XCTAssertEqual(try contents(b), "new json 2")
    XCTAssertEqual(try listing(directory), ["r.html", "r.json", "s.txt"])
  }

  func testWriteIntoAMissingDirectoryCreatesIt() throws {
    let path = directory + "/a/b/c/out.txt"
    try AtomicFile.write(Array("x".utf8), to: path)
    XCTAssertEqual(try contents(path), "x")
    XCTAssertEqual(try listing(directory + "/a/b/c"), ["out.txt"])
  }

  func testWithoutCreateDirectoryAMissingDirectoryFails() throws {
    let path = directory + "/missing/out.txt"
    XCTAssertThrowsError(try AtomicFile.write(Array("x".utf8), to: path, createDirectory: false)) { error in
      let error = error as! FileError
      XCTAssertEqual(error.operation, .create)
      XCTAssertEqual(error.code, ENOENT)
      XCTAssertTrue(
        error.description.hasPrefix(path + ": cannot create temporary file '\(directory)/missing/.out.txt."),
        error.description)
      XCTAssertTrue(error.description.hasSuffix(".tmp' (No such file or directory)"), error.description)
    }
    XCTAssertEqual(try listing(directory), [])
  }

  func testAFileInTheWayOfTheDirectoryFails() throws {
    try AtomicFile.write(Array("a file".utf8), to: directory + "/plain")
    let path = directory + "/plain/sub/out.txt"
    XCTAssertThrowsError(try AtomicFile.write(Array("x".utf8), to: path)) { error in
      let error = error as! FileError
      XCTAssertEqual(error.operation, .createDirectory)
      XCTAssertEqual(
        error.description,
        path + ": cannot create directory '\(directory)/plain/sub' (Not a directory)")
    }
    XCTAssertEqual(try contents(directory + "/plain"), "a file")
  }

  /// The destination is a directory: renaming a file over it fails, for root too.
  func testAFailedRenameLeavesTheDestinationAndNoTemporaryFile() throws {
    let path = directory + "/report.html"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    try AtomicFile.write(Array("old".utf8), to: path + "/inside")
    XCTAssertThrowsError(try AtomicFile.write(Array("new".utf8), to: path)) { error in
      let error = error as! FileError
      XCTAssertEqual(error.operation, .rename)
      XCTAssertEqual(error.path, path)
      XCTAssertEqual(error.code, EISDIR)
      XCTAssertTrue(error.description.hasPrefix(path + ": cannot rename temporary file '"), error.description)
      XCTAssertTrue(error.description.hasSuffix(".tmp' over it (Is a directory)"), error.description)
    }
    XCTAssertEqual(try listing(directory), ["report.html"], "the temporary file is removed")
    XCTAssertEqual(try listing(path), ["inside"])
    XCTAssertEqual(try contents(path + "/inside"), "old")
  }

  /// A write that fails half-way (the file-size limit, which applies to root too) keeps the old file.
  func testAFailedWriteKeepsTheOldContent() throws {
    let path = directory + "/weights.bin"
    try AtomicFile.write(Array("old content".utf8), to: path)
    var saved = rlimit()
    guard getrlimit(fileSizeLimit, &saved) == 0 else { throw XCTSkip("getrlimit failed") }
    var limited = saved
    limited.rlim_cur = 4096
    let oldHandler = signal(SIGXFSZ, SIG_IGN)
    defer {
      setrlimit(fileSizeLimit, &saved)
      signal(SIGXFSZ, oldHandler)
    }
    guard setrlimit(fileSizeLimit, &limited) == 0 else { throw XCTSkip("setrlimit failed") }
    XCTAssertThrowsError(try AtomicFile.write([UInt8](repeating: 7, count: 100_000), to: path)) { error in
      let error = error as! FileError
      XCTAssertEqual(error.operation, .write)
      XCTAssertEqual(error.code, EFBIG)
      XCTAssertEqual(error.byteCount, 100_000)
      XCTAssertTrue(error.description.hasPrefix(path + ": cannot write temporary file '"), error.description)
    }
    setrlimit(fileSizeLimit, &saved)
    XCTAssertEqual(try contents(path), "old content")
    XCTAssertEqual(try listing(directory), ["weights.bin"])
  }

  func testFullFileSystemSaysHowManyBytesWereNeeded() {
    let error = FileError(
      path: "out/x.bin", operation: .write, code: ENOSPC, other: "out/.x.bin.1.2.tmp", byteCount: 1234)
    XCTAssertTrue(error.isFileSystemFull)
    XCTAssertEqual(
      error.description,
      "out/x.bin: cannot write temporary file 'out/.x.bin.1.2.tmp' (No space left on device); "
        + "the file system is full (the file needs 1234 bytes)")
  }

  func testReadAll() throws {
    let path = directory + "/data.bin"
    let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    try AtomicFile.write(bytes, to: path)
    XCTAssertEqual(try AtomicFile.readAll(path), bytes)
    try AtomicFile.write([UInt8](), to: path)
    XCTAssertEqual(try AtomicFile.readAll(path), [])

    XCTAssertThrowsError(try AtomicFile.readAll(directory + "/missing")) { error in
      let error = error as! FileError
      XCTAssertEqual(error.operation, .open)
      XCTAssertEqual(error.description, directory + "/missing: cannot open file (No such file or directory)")
    }
    XCTAssertThrowsError(try AtomicFile.readAll(directory)) { error in
      let error = error as! FileError
      XCTAssertEqual(error.operation, .read)
      XCTAssertEqual(error.code, EISDIR)
      XCTAssertEqual(error.reason, "Is a directory")
    }
  }
}
