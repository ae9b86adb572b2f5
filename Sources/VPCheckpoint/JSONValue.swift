/// A minimal JSON value with ordered object members, for safetensors headers.
indirect enum JSONValue {
  case null
  case bool(Bool)
  /// A number written without fraction or exponent that fits in `Int64`.
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([(key: String, value: JSONValue)])

  /// A short name of the value's kind.
  var kindDescription: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .int, .double: return "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }

  /// Why a document was rejected, and where.
  struct ParseProblem: Error {
    let message: String
    let offset: Int
  }

  /// Parses `bytes[range]` as one JSON document (surrounding whitespace allowed). Nesting is limited to
  /// `maxDepth` levels so that hostile input cannot exhaust the stack.
  static func parse(_ bytes: [UInt8], _ range: Range<Int>, maxDepth: Int = 64) throws(ParseProblem)
    -> JSONValue
  {
    var parser = JSONParser(
      bytes: bytes, position: range.lowerBound, end: range.upperBound, maxDepth: maxDepth)
    parser.skipWhitespace()
    let value = try parser.value(depth: 0)
    parser.skipWhitespace()
    guard parser.position == parser.end else { throw parser.problem("unexpected data after the document") }
    return value
  }

  /// `s` as a JSON string literal.
  static func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let digits = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

/// The recursive-descent parser behind `JSONValue.parse`.
private struct JSONParser {
  let bytes: [UInt8]
  var position: Int
  let end: Int
  let maxDepth: Int

  func problem(_ message: String) -> JSONValue.ParseProblem {
    JSONValue.ParseProblem(message: message, offset: position)
  }

  mutating func skipWhitespace() {
    while position < end, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[position]) { position += 1 }
  }

  private func peek() -> UInt8? { position < end ? bytes[position] : nil }

  private mutating func expect(_ literal: String) throws(JSONValue.ParseProblem) {
    for byte in literal.utf8 {
      guard peek() == byte else { throw problem("expected '\(literal)'") }
      position += 1
    }
  }

  mutating func value(depth: Int) throws(JSONValue.ParseProblem) -> JSONValue {
    guard let byte = peek() else { throw problem("unexpected end of JSON") }
    switch byte {
    case UInt8(ascii: "{"):
      guard depth < maxDepth else { throw problem("JSON nests deeper than \(maxDepth) levels") }
      position += 1
      var members: [(key: String, value: JSONValue)] = []
      skipWhitespace()
      if peek() == UInt8(ascii: "}") {
        position += 1
        return .object(members)
      }
      while true {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw problem("expected a string key") }
        let key = try string()
        skipWhitespace()
        try expect(":")
        skipWhitespace()
        members.append((key, try value(depth: depth + 1)))
        skipWhitespace()
        if peek() == UInt8(ascii: ",") {
          position += 1
          continue
        }
        try expect("}")
        return .object(members)
      }
    case UInt8(ascii: "["):
      guard depth < maxDepth else { throw problem("JSON nests deeper than \(maxDepth) levels") }
      position += 1
      var items: [JSONValue] = []
      skipWhitespace()
      if peek() == UInt8(ascii: "]") {
        position += 1
        return .array(items)
      }
      while true {
        skipWhitespace()
        items.append(try value(depth: depth + 1))
        skipWhitespace()
        if peek() == UInt8(ascii: ",") {
          position += 1
          continue
        }
        try expect("]")
        return .array(items)
      }
    case UInt8(ascii: "\""):
      return .string(try string())
    case UInt8(ascii: "t"):
      try expect("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try expect("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try expect("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return try number()
    default:
      throw problem("unexpected character 0x\(String(byte, radix: 16))")
    }
  }

  private mutating func digits() -> Int {
    let start = position
    while let b = peek(), b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { position += 1 }
    return position - start
  }

  private mutating func number() throws(JSONValue.ParseProblem) -> JSONValue {
    let start = position
    if peek() == UInt8(ascii: "-") { position += 1 }
    let integerStart = position
    guard digits() > 0 else { throw problem("invalid number") }
    if bytes[integerStart] == UInt8(ascii: "0"), position - integerStart > 1 {
      throw problem("invalid number (leading zero)")
    }
    var isInteger = true
    if peek() == UInt8(ascii: ".") {
      position += 1
      isInteger = false
      guard digits() > 0 else { throw problem("invalid number") }
    }
    if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
      position += 1
      isInteger = false
      if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
      guard digits() > 0 else { throw problem("invalid number") }
    }
    let text = String(decoding: bytes[start..<position], as: UTF8.self)
    if isInteger, let i = Int64(text) { return .int(i) }
    guard let d = Double(text) else { throw problem("invalid number") }
    return .double(d)
  }

  private mutating func hex4() throws(JSONValue.ParseProblem) -> UInt32 {
    guard position + 4 <= end else { throw problem("truncated \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let digit = Int(String(UnicodeScalar(bytes[position])), radix: 16) else {
        throw problem("invalid \\u escape")
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    return value
  }

  private mutating func string() throws(JSONValue.ParseProblem) -> String {
    position += 1  // opening quote
    var out: [UInt8] = []
    while true {
      guard let byte = peek() else { throw problem("unterminated string") }
      position += 1
      switch byte {
      case UInt8(ascii: "\""):
        guard let s = String(validating: out, as: UTF8.self) else {
          throw problem("invalid UTF-8 in a string")
        }
        return s
      case UInt8(ascii: "\\"):
        guard let escape = peek() else { throw problem("unterminated string") }
        position += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0c)
        case UInt8(ascii: "n"): out.append(0x0a)
        case UInt8(ascii: "r"): out.append(0x0d)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var code = try hex4()
          if (0xD800...0xDBFF).contains(code) {
            guard position + 2 <= end, bytes[position] == UInt8(ascii: "\\"),
              bytes[position + 1] == UInt8(ascii: "u")
            else { throw problem("unpaired surrogate in \\u escape") }
            position += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw problem("unpaired surrogate in \\u escape") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let scalar = Unicode.Scalar(code) else { throw problem("unpaired surrogate in \\u escape") }
          out.append(contentsOf: String(scalar).utf8)
        default:
          throw problem("invalid escape '\\\(String(UnicodeScalar(escape)))'")
        }
      case 0..<0x20:
        throw problem("control character in a string")
      default:
        out.append(byte)
      }
    }
  }
}
