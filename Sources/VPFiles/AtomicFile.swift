#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whole-file reads and atomic writes over POSIX calls.
///
/// A write goes to a temporary file in the destination's directory (`.NAME.PID.RANDOM.tmp`), is flushed with
/// `fsync` and renamed over the destination, so that a reader sees either the old file or the complete new
/// one. On any failure the temporary file is removed, the old destination is left as it was, and a
/// ``FileError`` names the path, the step and the system's reason.
public enum AtomicFile {
  /// Writes `bytes` to `path` atomically.
  ///
  /// - Parameter createDirectory: create the destination's directory (and its parents) when missing;
  ///   otherwise a missing directory fails the creation of the temporary file.
  public static func write(
    _ bytes: some Sequence<UInt8>, to path: String, createDirectory: Bool = true
  ) throws(FileError) {
    let failure: FileError?
    if let result = bytes.withContiguousStorageIfAvailable({ buffer in
      write(UnsafeRawBufferPointer(buffer), to: path, createDirectory: createDirectory)
    }) {
      failure = result
    } else {
      failure = Array(bytes).withUnsafeBytes { write($0, to: path, createDirectory: createDirectory) }
    }
    if let failure { throw failure }
  }

  /// Writes several files so that either all of them are replaced or none: each goes to its temporary
  /// file first (written and `fsync`ed); only when every one is complete are they renamed over their
  /// destinations. On a failure before the renames, every temporary file is removed and every old file
  /// stays (a report and its manifest remain a consistent pair).
  ///
  /// The renames are journaled: before the first one, a journal (`.NAME.PID.RANDOM.set` beside the first
  /// file) lists every temporary file and its destination. A process killed between two renames leaves the
  /// journal and the remaining (complete) temporary files; the next `writeTogether` into that folder, or
  /// ``recover(folder:)``, finishes the renames, so the set is the new one, whole.
  public static func writeTogether(_ files: [(path: String, bytes: [UInt8])], createDirectory: Bool = true)
    throws(FileError)
  {
    guard let first = files.first else { return }
    recover(folder: folder(of: first.path))
    var prepared: [(temporary: String, path: String, byteCount: Int)] = []
    for file in files {
      let result = file.bytes.withUnsafeBytes { prepare($0, for: file.path, createDirectory: createDirectory) }
      switch result {
      case .success(let temporary): prepared.append((temporary, file.path, file.bytes.count))
      case .failure(let failure):
        for done in prepared { unlink(done.temporary) }
        throw failure
      }
    }
    let journal = journalPath(for: first.path)
    let lines = prepared.map { $0.temporary + "\n" + $0.path + "\n" }.joined()
    if let failure = Array(lines.utf8).withUnsafeBytes({ write($0, to: journal, createDirectory: false) }) {
      for done in prepared { unlink(done.temporary) }
      throw failure
    }
    defer { unlink(journal) }
    // Keep the old files under a second name (a hard link) until every rename has succeeded, so that a
    // rename that fails after another succeeded can put the earlier ones back.
    let backups = prepared.map { done -> String? in
      let backup = done.temporary + ".old"
      return link(done.path, backup) == 0 ? backup : nil
    }
    for (index, done) in prepared.enumerated() where rename(done.temporary, done.path) != 0 {
      let failure = FileError(
        path: done.path, operation: .rename, code: errno, other: done.temporary, byteCount: done.byteCount)
      for earlier in 0..<index {
        if let backup = backups[earlier] {
          rename(backup, prepared[earlier].path)
        } else {
          unlink(prepared[earlier].path)
        }
      }
      for rest in prepared[index...] { unlink(rest.temporary) }
      for backup in backups.compactMap({ $0 }) { unlink(backup) }
      throw failure
    }
    for backup in backups.compactMap({ $0 }) { unlink(backup) }
  }

  /// Finishes the sets that `writeTogether` calls killed between their renames left in `folder`: renames
  /// their remaining temporary files over their destinations (they were complete before the first rename)
  /// and removes the journal and backups. Journals of live processes are left alone. Returns how many sets
  /// it finished.
  @discardableResult
  public static func recover(folder: String) -> Int {
    guard let directory = opendir(folder.isEmpty ? "." : folder) else { return 0 }
    var journals: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      guard name.hasPrefix("."), name.hasSuffix(".set") else { continue }
      let fields = name.split(separator: ".")
      guard fields.count >= 4, let pid = Int32(fields[fields.count - 3]), UInt32(fields[fields.count - 2]) != nil,
        pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
      else { continue }
      journals.append((folder.isEmpty ? "" : folder + "/") + name)
    }
    closedir(directory)
    var finished = 0
    for journal in journals {
      guard let bytes = try? readAll(journal) else { continue }
      let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
      guard lines.count % 2 == 0 else {
        unlink(journal)
        continue
      }
      for pair in stride(from: 0, to: lines.count, by: 2) {
        let (temporary, path) = (lines[pair], lines[pair + 1])
        if access(temporary, F_OK) == 0 { rename(temporary, path) }
        unlink(temporary + ".old")
      }
      unlink(journal)
      finished += 1
    }
    return finished
  }

  static func folder(of path: String) -> String {
    path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
  }

  static func journalPath(for path: String) -> String {
    let slash = path.lastIndex(of: "/")
    let prefix = slash.map { String(path[...$0]) } ?? ""
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    return "\(prefix).\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).set"
  }

  /// Reads the whole file at `path` (regular files in one allocation; pipes and devices until their end).
  ///
  /// A directory throws ``FileError`` with operation `read` and code `EISDIR`.
  public static func readAll(_ path: String) throws(FileError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw FileError(path: path, operation: .open, code: errno) }
    defer { close(fd) }
    var info = stat()
    if fstat(fd, &info) != 0 { throw FileError(path: path, operation: .stat, code: errno) }
    if (info.st_mode & S_IFMT) == S_IFDIR { throw FileError(path: path, operation: .read, code: EISDIR) }
    // One spare byte so that the end of a regular file is seen without growing the buffer.
    var result = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
    var total = 0
    while true {
      if total == result.count { result.append(contentsOf: repeatElement(0, count: result.count)) }
      let n = result.withUnsafeMutableBytes { raw in
        read(fd, raw.baseAddress! + total, raw.count - total)
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileError(path: path, operation: .read, code: errno)
      }
      if n == 0 { break }
      total += n
    }
    result.removeLast(result.count - total)
    return result
  }

  /// The write itself; returns the failure instead of throwing it (it runs inside buffer closures).
  private static func write(
    _ buffer: UnsafeRawBufferPointer, to path: String, createDirectory: Bool
  ) -> FileError? {
    switch prepare(buffer, for: path, createDirectory: createDirectory) {
    case .failure(let failure): return failure
    case .success(let temporary):
      if rename(temporary, path) != 0 {
        let failure = FileError(
          path: path, operation: .rename, code: errno, other: temporary, byteCount: buffer.count)
        unlink(temporary)
        return failure
      }
      return nil
    }
  }

  /// Writes `buffer` to a new temporary file beside `path`, `fsync`ed and closed; its path, or the failure
  /// (the temporary file then removed).
  private static func prepare(
    _ buffer: UnsafeRawBufferPointer, for path: String, createDirectory: Bool
  ) -> Result<String, FileError> {
    // `prefix` is the destination's directory with its trailing slash, "" for a bare file name.
    let slash = path.lastIndex(of: "/")
    let prefix = slash.map { String(path[...$0]) } ?? ""
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    if createDirectory, prefix.count > 1,
      let failure = makeDirectory(String(prefix.dropLast()), for: path)
    {
      return .failure(failure)
    }
    removeStaleTemporaries(prefix: prefix, name: name)
    let temporary = "\(prefix).\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    func failure(_ operation: FileError.Operation, _ code: Int32) -> FileError {
      FileError(path: path, operation: operation, code: code, other: temporary, byteCount: buffer.count)
    }

    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    if fd < 0 { return .failure(failure(.create, errno)) }
    var problem: FileError?
    var written = 0
    while written < buffer.count {
      let n = writeSome(fd, buffer.baseAddress! + written, buffer.count - written)
      if n < 0 {
        if errno == EINTR { continue }
        problem = failure(.write, errno)
        break
      }
      written += n
    }
    if problem == nil, fsync(fd) != 0 { problem = failure(.sync, errno) }
    if close(fd) != 0, problem == nil { problem = failure(.close, errno) }
    if let problem {
      unlink(temporary)
      return .failure(problem)
    }
    return .success(temporary)
  }

  /// Removes the temporary files (and `writeTogether`'s backup links) that earlier writes of `name` left when
  /// their process was killed: `.NAME.PID.RANDOM.tmp[.old]` whose process no longer exists on this host and
  /// that were last changed more than a minute ago (a live writer on another host sharing the folder is never
  /// that slow).
  static func removeStaleTemporaries(prefix: String, name: String) {
    guard let directory = opendir(prefix.isEmpty ? "." : prefix) else { return }
    defer { closedir(directory) }
    let start = "." + name + "."
    var stale: [String] = []
    while let entry = readdir(directory) {
      let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      guard entryName.hasPrefix(start), entryName.hasSuffix(".tmp") || entryName.hasSuffix(".tmp.old") else {
        continue
      }
      let fields = entryName.dropFirst(start.count).split(separator: ".")
      guard fields.count >= 3, let pid = Int32(fields[0]), UInt32(fields[1]) != nil, pid != getpid() else {
        continue
      }
      guard kill(pid, 0) != 0, errno == ESRCH else { continue }
      var info = stat()
      guard stat(prefix + entryName, &info) == 0, time(nil) - info.st_mtim.tv_sec > 60 else { continue }
      stale.append(prefix + entryName)
    }
    for path in stale { unlink(path) }
  }

  /// Creates `directory` and its missing parents (like `mkdir -p`); nil on success.
  private static func makeDirectory(_ directory: String, for path: String) -> FileError? {
    var info = stat()
    if stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return nil }
    if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
      if let failure = makeDirectory(String(directory[..<slash]), for: path) { return failure }
    }
    if mkdir(directory, 0o777) != 0, errno != EEXIST {
      return FileError(path: path, operation: .createDirectory, code: errno, other: directory)
    }
    return nil
  }
}

/// `write(2)`, under a name that the static `AtomicFile.write` does not shadow.
private func writeSome(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  write(fd, bytes, count)
}
