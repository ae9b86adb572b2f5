/// Reading `torch.save` state dicts without torch and without executing the pickle.
///
/// Both container formats are supported: the zip archive of torch ≥ 1.6 (`TorchCheckpoint+Zip.swift`) and
/// the legacy concatenated-pickle format (`TorchCheckpoint+Legacy.swift`). Each tensor must be pickled as
/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` (optionally wrapped in
/// `_rebuild_parameter`), with storages as persistent IDs `('storage', torch.XStorage, key, location,
/// numel[, view])`. The top-level object must be a dict of tensors, or a dict holding one under
/// `"state_dict"` or `"model"`.
public enum TorchCheckpoint {
  /// The globals a torch state dict pickle may reference; every other global is rejected.
  public static let allowedGlobals: Set<String> = [
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
    "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
    "torch.ByteStorage", "torch.BoolStorage", "torch.storage.UntypedStorage",
  ]

  /// A storage as declared by a persistent ID.
  struct StorageRecord {
    let key: String
    let dtype: DType
    let numel: Int
  }

  /// A tensor as declared by the pickle, before its storage is attached.
  struct TensorRecord {
    let name: String
    let storageKey: String
    let storageOffset: Int
    let shape: [Int]
    let strides: [Int]
  }

  /// What the state dict pickle declares: the tensors in order, and the storages they use.
  struct Declarations {
    var tensors: [TensorRecord] = []
    var storages: [String: StorageRecord] = [:]
  }

  /// Interprets an unpickled state dict.
  static func declarations(of root: PickleValue, path: String, member: String) throws -> Declarations {
    func malformed(_ problem: String) -> CheckpointError {
      CheckpointError(path: path, kind: .malformed, problem: problem + member)
    }
    guard var pairs = root.dictPairs else {
      throw malformed("top-level object is a \(root.kindDescription), not a dict of tensors")
    }
    for wrapper in ["state_dict", "model"] {
      if let inner = root[wrapper]?.dictPairs {
        pairs = inner
        break
      }
    }
    var result = Declarations()
    for (key, value) in pairs {
      guard let name = key.stringValue else {
        throw malformed("state dict key is a \(key.kindDescription), not a string")
      }
      let (record, storage) = try tensorRecord(value, name: name, malformed: malformed)
      if let known = result.storages[storage.key] {
        guard known.dtype == storage.dtype, known.numel == storage.numel else {
          throw malformed(
            "storage '\(storage.key)' is declared as \(known.numel) \(known.dtype) and as "
              + "\(storage.numel) \(storage.dtype)")
        }
      }
      result.storages[storage.key] = storage
      result.tensors.append(record)
    }
    return result
  }

  private static func tensorRecord(
    _ value: PickleValue, name: String, malformed: (String) -> CheckpointError
  ) throws -> (TensorRecord, StorageRecord) {
    switch value {
    case .build(let object, _):
      return try tensorRecord(object, name: name, malformed: malformed)
    case .reduce(.global("torch._utils", let function), .tuple(let args)):
      switch function {
      case "_rebuild_parameter", "_rebuild_parameter_with_state":
        guard let data = args.first else {
          throw malformed("tensor '\(name)': \(function) without arguments")
        }
        return try tensorRecord(data, name: name, malformed: malformed)
      case "_rebuild_tensor", "_rebuild_tensor_v2":
        guard args.count >= 4, case .persistentID(let pid) = args[0] else {
          throw malformed("tensor '\(name)': \(function) needs (storage, offset, size, stride, …)")
        }
        let (storage, viewOffset) = try storageRecord(pid, tensor: name, malformed: malformed)
        guard let offset = args[1].intValue.flatMap({ Int(exactly: $0) }),
          let shape = integers(args[2]), let strides = integers(args[3])
        else {
          throw malformed(
            "tensor '\(name)': offset, size and stride must be integers "
              + "(got \(args[1].kindDescription), \(args[2].kindDescription), \(args[3].kindDescription))")
        }
        guard let total = checkedSum(offset, viewOffset) else {
          throw malformed("tensor '\(name)': storage offset overflows")
        }
        let record = TensorRecord(
          name: name, storageKey: storage.key, storageOffset: total, shape: shape, strides: strides)
        return (record, storage)
      default:
        throw malformed("entry '\(name)' is a \(value.kindDescription), not a tensor")
      }
    default:
      throw malformed("entry '\(name)' is a \(value.kindDescription), not a tensor")
    }
  }

  /// Decodes `('storage', torch.XStorage, key, location, numel[, view_metadata])`.
  ///
  /// Legacy files may give `view_metadata = (view_key, offset, size)`: the tensor then addresses the root
  /// storage from `offset`; the returned view offset is added to the tensor's storage offset.
  private static func storageRecord(
    _ pid: PickleValue, tensor name: String, malformed: (String) -> CheckpointError
  ) throws -> (StorageRecord, viewOffset: Int) {
    guard case .tuple(let items) = pid, items.count >= 5, items[0] == .string("storage") else {
      throw malformed("tensor '\(name)': unsupported persistent id \(pid.kindDescription)")
    }
    guard case .global(let module, let typeName) = items[1], module == "torch" || module == "torch.storage",
      let dtype = DType(torchStorageName: typeName)
    else {
      throw malformed("tensor '\(name)': unsupported storage type \(items[1].kindDescription)")
    }
    let key: String
    switch items[2] {
    case .string(let s): key = s
    case .int(let i): key = String(i)
    default: throw malformed("tensor '\(name)': storage key is a \(items[2].kindDescription)")
    }
    guard let numel = items[4].intValue.flatMap({ Int(exactly: $0) }), numel >= 0,
      checkedProduct(numel, dtype.byteSize) != nil
    else {
      throw malformed("tensor '\(name)': storage '\(key)' has an invalid element count")
    }
    let record = StorageRecord(key: key, dtype: dtype, numel: numel)
    guard items.count > 5, items[5] != .none else { return (record, 0) }
    guard let view = items[5].elements, view.count == 3,
      let offset = view[1].intValue.flatMap({ Int(exactly: $0) }),
      let size = view[2].intValue.flatMap({ Int(exactly: $0) }),
      offset >= 0, size >= 0, offset <= numel, size <= numel - offset
    else {
      throw malformed(
        "tensor '\(name)': invalid storage view \(items[5].kindDescription) of storage '\(key)'")
    }
    return (record, offset)
  }

  /// The integers of a tuple or list of ints.
  private static func integers(_ value: PickleValue) -> [Int]? {
    guard let items = value.elements else { return nil }
    var result: [Int] = []
    result.reserveCapacity(items.count)
    for item in items {
      guard let i = item.intValue.flatMap({ Int(exactly: $0) }) else { return nil }
      result.append(i)
    }
    return result
  }

  /// Attaches storages to the declared tensors and validates every view.
  static func assemble(
    _ declarations: Declarations, storages: [String: TensorStorage], path: String, format: CheckpointFormat
  ) throws -> StateDict {
    var entries: [(String, CheckpointTensor)] = []
    entries.reserveCapacity(declarations.tensors.count)
    for record in declarations.tensors {
      guard let storage = storages[record.storageKey] else {
        throw CheckpointError(
          path: path, kind: .malformed,
          problem: "tensor '\(record.name)': storage '\(record.storageKey)' has no data")
      }
      do {
        let tensor = try CheckpointTensor(
          shape: record.shape, strides: record.strides, storageOffset: record.storageOffset, storage: storage)
        entries.append((record.name, tensor))
      } catch {
        throw CheckpointError(
          path: path, kind: .malformed, problem: "tensor '\(record.name)': \(error.message)")
      }
    }
    return StateDict(entries, path: path, format: format)
  }
}
