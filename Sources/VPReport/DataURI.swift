import Foundation

/// `data:` URIs, so that images live inside the one HTML file.
public enum DataURI {
  /// `data:image/png;base64,…` for PNG file bytes.
  public static func png(_ bytes: [UInt8]) -> String { png(Data(bytes)) }

  /// `data:image/png;base64,…` for PNG file bytes.
  public static func png(_ data: Data) -> String { encode(data, mediaType: "image/png") }

  /// `data:<mediaType>;base64,…` for any bytes.
  public static func encode(_ data: Data, mediaType: String) -> String {
    "data:\(mediaType);base64," + data.base64EncodedString()
  }
}
