import Testing

@testable import Merging

/// The method table: one row per method, with MergeKit's defaults.
@Suite("Method registry")
struct MethodRegistryTests {
    @Test func everyMethodHasOneRowInCaseOrder() {
        #expect(MethodRegistry.rows.map(\.method) == MergeMethod.allCases)
        for method in MergeMethod.allCases {
            #expect(method.definition.method == method)
            let names = method.definition.parameters.map(\.name)
            #expect(Set(names).count == names.count, "\(method.rawValue) lists a parameter twice")
        }
    }

    /// `normalize` / `rescale` defaults and model-card names of the generalized task-arithmetic rows, as
    /// arcee-ai/mergekit `mergekit/merge_methods/registry.py` (0.1.5) declares them.
    @Test(arguments: [
        ("task_arithmetic", false, false, "Task Arithmetic", "https://arxiv.org/abs/2212.04089"),
        ("ties", true, false, "TIES", "https://arxiv.org/abs/2306.01708"),
        ("dare_ties", false, true, "DARE TIES", "https://arxiv.org/abs/2311.03099"),
        ("dare_linear", false, true, "Linear DARE", "https://arxiv.org/abs/2311.03099"),
        ("breadcrumbs", false, false, "Model Breadcrumbs", "https://arxiv.org/abs/2312.06795"),
        ("breadcrumbs_ties", false, false, "Model Breadcrumbs with TIES", "https://arxiv.org/abs/2312.06795"),
        ("della", true, true, "DELLA", "https://arxiv.org/abs/2406.11617"),
        ("della_linear", false, true, "Linear DELLA", "https://arxiv.org/abs/2406.11617"),
    ])
    func taskArithmeticRowsMatchMergeKit(
        name: String, normalize: Bool, rescale: Bool, pretty: String, reference: String
    ) throws {
        let definition = try #require(MergeMethod(rawValue: name)).definition
        #expect(definition.spec("normalize")?.defaultValue == .bool(normalize))
        #expect(definition.spec("rescale")?.defaultValue == .bool(rescale))
        #expect(definition.prettyName == pretty)
        #expect(definition.reference == reference)
        #expect(definition.basePolicy == .required)
        #expect(definition.isStochastic == (name.hasPrefix("dare") || name.hasPrefix("della")))
    }

    /// A parameter not given takes its spec's default, through the typed view (no read site restates it).
    @Test func typedParametersFallBackToTheSpecDefault() {
        let linear = MethodParameters(MergeMethod.linear.definition)
        #expect(linear.flag("normalize"))
        let karcher = MethodParameters(MergeMethod.karcher.definition)
        #expect(karcher.number("max_iter") == 10)
        #expect(karcher.number("tol") == 1e-5)
        let given = MethodParameters(MergeMethod.linear.definition, shared: ["normalize": .bool(false)])
        #expect(!given.flag("normalize"))
    }

    /// Only the methods whose result is θ0 + Σ c τ say how to form c.
    @Test func pointMethods() {
        let points = MergeMethod.allCases.filter { $0.definition.point != nil }
        #expect(points == [.linear, .taskArithmetic, .metagpt])
    }
}
