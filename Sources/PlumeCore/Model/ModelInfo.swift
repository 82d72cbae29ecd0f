import LuaHost

/// What a model declares, read back from its definition.
public struct ModelInfo: Sendable {
    public struct Category: Sendable {
        public let key: String
        public let split: Bool
        public let unit: String
        public let doc: String?
        public let location: String?
    }

    public struct Input: Sendable {
        public let name: String
        public let type: String
        public let unit: String?
        public let doc: String?
        public let required: Bool
        public let defaultValue: LuaValue
        public let location: String?
    }

    /// A pack key the model declares it needs (`coefficient "name" { unit = ... }`).
    public struct Coefficient: Sendable {
        public let name: String
        public let unit: String?
        public let doc: String?
        public let location: String?
    }

    public let id: String
    public let version: String
    public let title: String
    public let framework: String
    public let source: String
    public let extends: String?
    public let packs: [String]
    /// Included categories in output order.
    public let categories: [String]
    /// Every declared category in computation order.
    public let declared: [Category]
    public let inputs: [Input]
    public let coefficients: [Coefficient]
    /// This model, then the models it extends.
    public let chain: [String]
    public let files: [String]
    /// The model declares `replay = true` (Docs/DSL.md, "Replay").
    public let replay: Bool

    public var defaultPack: String? { packs.first }

    init(_ v: LuaValue) {
        func str(_ k: String) -> String { v[k]?.stringValue ?? "" }
        func strings(_ x: LuaValue?) -> [String] {
            if case .array(let a)? = x { return a.compactMap(\.stringValue) }
            return []
        }
        id = str("id")
        version = str("version")
        title = str("title")
        framework = str("framework")
        source = str("source")
        extends = v["extends"]?.stringValue
        packs = strings(v["packs"])
        categories = strings(v["categories"])
        chain = [id] + strings(v["chain"])
        files = strings(v["files"])
        replay = v["replay"] == .boolean(true)
        var declared: [Category] = []
        if case .array(let a)? = v["declared"] {
            for c in a {
                declared.append(Category(key: c["key"]?.stringValue ?? "", split: c["split"] == .boolean(true),
                                         unit: c["unit"]?.stringValue ?? "g", doc: c["doc"]?.stringValue,
                                         location: c["at"]?.stringValue))
            }
        }
        self.declared = declared
        var inputs: [Input] = []
        if case .array(let a)? = v["inputs"] {
            for i in a {
                inputs.append(Input(name: i["name"]?.stringValue ?? "", type: i["type"]?.stringValue ?? "any",
                                    unit: i["unit"]?.stringValue, doc: i["doc"]?.stringValue,
                                    required: i["required"] == .boolean(true), defaultValue: i["default"] ?? .nil,
                                    location: i["at"]?.stringValue))
            }
        }
        self.inputs = inputs
        var coefficients: [Coefficient] = []
        if case .array(let a)? = v["coefficients"] {
            for c in a {
                coefficients.append(Coefficient(name: c["name"]?.stringValue ?? "", unit: c["unit"]?.stringValue,
                                                doc: c["doc"]?.stringValue, location: c["at"]?.stringValue))
            }
        }
        self.coefficients = coefficients
    }
}
