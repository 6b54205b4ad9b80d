import Foundation
import TestSupport
import Testing

/// `metamerge recommend REPORT --prompts NAME=FILE …` through the binary: the family from the report's provenance,
/// --base/--model or --config; the JSON shape (recommending and abstaining); one-line exit-2 errors.
@Suite("recommend --prompts: the label-free command line")
struct LabelFreeCommandTests {
    static let tasks = ["add", "rev", "sort"]

    /// An analysis report of the bundled family's `tasks` and 4-prompt files (prompts only, no completions).
    struct Setup {
        let directory: URL
        let report: URL
        let promptArguments: [String]

        init(_ label: String, tasks: [String] = LabelFreeCommandTests.tasks) throws {
            directory = try makeTemporaryDirectory(label)
            report = directory.appendingPathComponent("report.h5")
            let family = RepositoryPaths.tinyFamily
            let analyze = try MetaMergeProcess.run(
                ["analyze", "--base", family.appendingPathComponent("base").path]
                    + tasks.flatMap { ["--model", "\($0)=\(family.appendingPathComponent($0).path)"] }
                    + ["-o", report.path])
            #expect(analyze.status == 0, "\(analyze.stderr)")
            var arguments: [String] = []
            for task in tasks {
                let lines = try String(
                    contentsOf: family.appendingPathComponent("tasks/\(task).jsonl"), encoding: .utf8
                ).split(separator: "\n").prefix(4)
                let prompts = try lines.map { line -> String in
                    let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                    let data = try JSONSerialization.data(withJSONObject: ["prompt": object["prompt"]!])
                    return String(decoding: data, as: UTF8.self)
                }
                let url = directory.appendingPathComponent("\(task).jsonl")
                try Data((prompts.joined(separator: "\n") + "\n").utf8).write(to: url)
                arguments += ["--prompts", "\(task)=\(url.path)"]
            }
            promptArguments = arguments
        }

        func recommend(_ extra: [String]) throws -> MetaMergeProcess.Result {
            try MetaMergeProcess.run(["recommend", report.path] + promptArguments + ["--quiet"] + extra)
        }
    }

    static func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    @Test func theTinyFamilyOnFourPromptsAbstainsWithTheJSONShape() throws {
        let setup = try Setup("labelfree-json")
        let result = try setup.recommend(["--max-new-tokens", "8", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try Self.json(result.stdout)
        #expect(json["mode"] as? String == "label-free")
        #expect(json["tasks"] as? [String] == Self.tasks)
        let criteria = json["criteria"] as! [String: [String: Any]]
        #expect(Set(criteria.keys) == ["agreement", "kl", "entropy", "stability", "data-free"])
        for (name, pick) in criteria {
            let weights = pick["weights"] as! [Double], scale = pick["scale"] as! Double
            let coefficients = pick["coefficients"] as! [Double]
            #expect(coefficients.count == 3, "\(name)")
            for (w, c) in zip(weights, coefficients) { #expect(abs(w * scale - c) < 1e-12, "\(name)") }
            #expect(pick["weighting"] is String, "\(name)")
            #expect((name == "data-free") == (pick["score"] is NSNull), "\(name) score")
        }
        // 4 prompts per task: the criteria's picks disagree (and the bootstrap's picks differ) well above 0.02.
        let shortfall = json["expectedShortfall"] as! Double
        #expect(shortfall > 0.02)
        #expect(json["coefficients"] is NSNull)
        #expect(json["weighting"] is NSNull)
        #expect(json["scale"] is NSNull)
        #expect(json["labelledItemsNeeded"] as? Int == 50)
        #expect((json["dataFree"] as! [String: Any])["mode"] as? String == "data-free")
        #expect((json["prompts"] as! [String: Int]) == ["add": 4, "rev": 4, "sort": 4])
        let text = try setup.recommend(["--max-new-tokens", "8"])
        #expect(text.status == 0)
        #expect(
            text.stdout.contains(
                "No reliable label-free point for this family: run `metamerge sweep` with 50 labelled items per task"))
        #expect(text.stdout.contains("Data-free (statistics and probe only):"))
    }

    /// One task model: the point s = 1 is the teacher itself (agreement 1, KL ≈ 0) and its refined neighbours agree.
    @Test func aOneTaskFamilyRecommendsItsTaskModel() throws {
        let setup = try Setup("labelfree-one", tasks: ["add"])
        let result = try setup.recommend(["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try Self.json(result.stdout)
        #expect(json["coefficients"] as? [Double] == [1])
        #expect(json["scale"] as? Double == 1)
        #expect(json["expectedShortfall"] as? Double == 0)
        #expect(json["labelledItemsNeeded"] == nil)
        let agreement = (json["criteria"] as! [String: [String: Any]])["agreement"]!
        #expect(agreement["score"] as? Double == 1)
        #expect((agreement["kl"] as! Double) < 1e-9)  // the decoding-time logits against teacher forcing: rounding
        let text = try setup.recommend([])
        #expect(text.stdout.contains("Recommended point: uniform weights at total scale s = 1 (the agreement pick)"))
    }

    @Test func theFamilyFromAConfigOrBaseAndModelsEqualsTheRecordedOne() throws {
        let setup = try Setup("labelfree-family")
        let recorded = try setup.recommend(["--max-new-tokens", "4", "--json"])
        let family = RepositoryPaths.tinyFamily
        let explicit = try setup.recommend(
            ["--max-new-tokens", "4", "--json", "--base", family.appendingPathComponent("base").path]
                + Self.tasks.flatMap { ["--model", "\($0)=\(family.appendingPathComponent($0).path)"] })
        let config = try setup.recommend(
            ["--max-new-tokens", "4", "--json", "--config",
             RepositoryPaths.root.appendingPathComponent("examples/tiny-family-metagpt.yml").path])
        for result in [recorded, explicit, config] { #expect(result.status == 0, "\(result.stderr)") }
        let a = try Self.json(recorded.stdout), b = try Self.json(explicit.stdout), c = try Self.json(config.stdout)
        #expect(a["expectedShortfall"] as? Double == b["expectedShortfall"] as? Double)
        #expect(a["expectedShortfall"] as? Double == c["expectedShortfall"] as? Double)
        #expect((a["candidates"] as! [Any]).count == (c["candidates"] as! [Any]).count)
    }

    @Test func badArgumentsAreOneLineAndExitTwo() throws {
        let setup = try Setup("labelfree-errors")
        let family = RepositoryPaths.tinyFamily
        let bad = setup.directory.appendingPathComponent("bad.jsonl")
        try Data("{\"prompt\": \"<bos>1+2=\"}\n{\"text\": \"x\"}\n".utf8).write(to: bad)
        let cases: [([String], String)] = [
            (["--prompts", "mul=\(bad.path)"], "the family has no task model 'mul'"),
            (["--prompts", "add=\(bad.path)"], "'add' is given twice"),
            (["--prompts", "nonsense"], "expected NAME=FILE.jsonl"),
            (["--max-new-tokens", "0"], "--max-new-tokens 0"),
            (["--scales", "0"], "--scales"),
            (["--config", "x.yml", "--base", "y"], "not both"),
        ]
        for (extra, message) in cases {
            let result = try setup.recommend(extra)
            #expect(result.status == 2, "\(extra)")
            #expect(result.stderr.contains(message), "\(extra): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(extra): \(result.stderr)")
        }
        // A prompts file whose second line has no "prompt", named with its line.
        let noPrompt = try MetaMergeProcess.run(
            ["recommend", setup.report.path, "--prompts", "add=\(bad.path)", "--prompts",
             "rev=\(bad.path)", "--prompts", "sort=\(bad.path)", "--quiet"])
        #expect(noPrompt.status == 2)
        #expect(noPrompt.stderr.contains("\(bad.path):2: no \"prompt\" string"), "\(noPrompt.stderr)")
        // Missing task models.
        let missing = try MetaMergeProcess.run(
            ["recommend", setup.report.path, "--prompts", "add=\(bad.path)", "--quiet"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no prompts for task model(s) rev, sort"), "\(missing.stderr)")
        // The family options without --prompts.
        let noPrompts = try MetaMergeProcess.run(["recommend", setup.report.path, "--base", "x", "--model", "a=y"])
        #expect(noPrompts.status == 2)
        #expect(noPrompts.stderr.contains("give --prompts"), "\(noPrompts.stderr)")
        // A family the report does not describe: 'add' given rev's weights.
        let other = try setup.recommend(
            ["--base", family.appendingPathComponent("base").path, "--model",
             "add=\(family.appendingPathComponent("rev").path)", "--model",
             "rev=\(family.appendingPathComponent("add").path)", "--model",
             "sort=\(family.appendingPathComponent("rev").path)"])
        #expect(other.status == 2)
        #expect(other.stderr.contains("task models 'add' and 'sort' have the same weights"), "\(other.stderr)")
        #expect(other.stderr.split(separator: "\n").count == 1)
        // Fewer task models than the report describes.
        let fewer = try setup.recommend(
            ["--base", family.appendingPathComponent("base").path, "--model",
             "add=\(family.appendingPathComponent("add").path)"])
        #expect(fewer.status == 2)
        #expect(
            fewer.stderr.contains("does not describe these models: it covers 3 task models, the family has 1"),
            "\(fewer.stderr)")
    }

    @Test func aRecordedFamilyThatMovedIsNamed() throws {
        let copy = try FamilyCopy("labelfree-moved", tasks: ["add"])
        let report = copy.workspace.appendingPathComponent("report.h5")
        let analyze = try MetaMergeProcess.run(["analyze"] + copy.arguments + ["-o", report.path])
        #expect(analyze.status == 0, "\(analyze.stderr)")
        try FileManager.default.removeItem(at: copy.model("add"))
        let prompts = RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl")
        let result = try MetaMergeProcess.run(
            ["recommend", report.path, "--prompts", "add=\(prompts.path)", "--quiet"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("the recorded model 'add' at \(copy.model("add").path) does not exist"))
    }

    @Test func theDataFreeJSONKeepsItsKeysAndAddsTheMode() throws {
        let setup = try Setup("labelfree-datafree")
        let result = try MetaMergeProcess.run(["recommend", setup.report.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try Self.json(result.stdout)
        #expect(json["mode"] as? String == "data-free")
        for key in ["tasks", "weighting", "weights", "scale", "coefficients", "linearScale", "reason", "warnings"] {
            #expect(json[key] != nil, "\(key)")
        }
        #expect(json["expectedShortfall"] is NSNull)
        let pick = (json["criteria"] as! [String: [String: Any]])["data-free"]!
        #expect(pick["coefficients"] as? [Double] == json["coefficients"] as? [Double])
    }
}
