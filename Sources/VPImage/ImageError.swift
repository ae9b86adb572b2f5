import Foundation

/// Why an image could not be read, decoded or written.
///
/// The description names the file and the problem, e.g. `x.png: not a PNG or JPEG file` or
/// `x.jpg: corrupt JPEG data: Premature end of JPEG file`.
public struct ImageError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
  /// What went wrong, coarsely.
  public enum Kind: Sendable, Equatable {
    /// The file could not be opened or read.
    case unreadable
    /// The bytes are neither PNG nor JPEG.
    case unknownFormat
    /// libpng rejected the data.
    case corruptPNG
    /// libjpeg rejected the data.
    case corruptJPEG
    /// The header declares more pixels than `Image.maxPixels`.
    case tooLarge
    /// The image could not be written.
    case unwritable
  }

  /// The file (path as given, or a caller-chosen name for in-memory data).
  public var file: String
  /// The category of the failure.
  public var kind: Kind
  /// Details from the system or the codec, possibly empty.
  public var detail: String

  /// Creates an error for `file`.
  public init(file: String, kind: Kind, detail: String = "") {
    self.file = file
    self.kind = kind
    self.detail = detail
  }

  /// `FILE: PROBLEM[: DETAIL]`.
  public var description: String {
    let problem: String
    switch kind {
    case .unreadable: problem = "cannot read file"
    case .unknownFormat: problem = "not a PNG or JPEG file"
    case .corruptPNG: problem = "corrupt PNG data"
    case .corruptJPEG: problem = "corrupt JPEG data"
    case .tooLarge: problem = "too large to decode"
    case .unwritable: problem = "cannot write file"
    }
    return detail.isEmpty ? "\(file): \(problem)" : "\(file): \(problem): \(detail)"
  }

  /// Same as ``description``.
  public var errorDescription: String? { description }
}
