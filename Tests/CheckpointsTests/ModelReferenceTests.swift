import Foundation
import TestSupport
import Testing

@testable import Checkpoints

/// ``ModelReference``'s hub rules, against huggingface_hub 2.4's own (`validate_repo_id`, `REGEX_COMMIT_HASH`,
/// `constants.HF_HUB_CACHE`).
@Suite("ModelReference: hub ids, revisions and the cache folder")
struct ModelReferenceTests {
    /// The valid and invalid examples of huggingface_hub's `validate_repo_id` docstring, and a few more.
    @Test(arguments: [
        ("foo", true), ("foo/bar", true), ("123", true), ("Foo-BAR_foo.bar123", true), ("datasets/foo/bar", false),
        (".repo_id", false), ("foo--bar", false), ("foo.git", false), ("other..repo..id", false), ("-a/b", false),
        ("a/b-", false), ("./base", false), ("", false), ("café", false), ("org/", false),
    ])
    func repoIDs(id: String, valid: Bool) {
        #expect(ModelReference.isValidRepoID(id) == valid, "\(id)")
    }

    @Test func commitHashesAreFortyLowercaseHexDigits() {
        #expect(ModelReference.isCommitHash(String(repeating: "a1", count: 20)))
        #expect(!ModelReference.isCommitHash(String(repeating: "A1", count: 20)))
        #expect(!ModelReference.isCommitHash("main"))
        #expect(!ModelReference.isSafeRevision("../x"))
        #expect(!ModelReference.isSafeRevision("/etc"))
        #expect(ModelReference.isSafeRevision("refs/pr/1"))
    }

    /// Expected values printed by Python 3.11's `posixpath.expandvars` with A=/x, B_2=y, EMPTY=''.
    @Test(arguments: [
        ("$A/hub", "/x/hub"), ("${A}/$B_2", "/x/y"), ("$NOPE/a", "$NOPE/a"), ("${}/a", "${}/a"), ("${A", "${A"),
        ("a$", "a$"), ("$A$B_2$C", "/xy$C"), ("${B_2}z", "yz"), ("$EMPTY/x", "/x"), ("$-A", "$-A"),
    ])
    func variablesExpandAsPythonDoes(text: String, expected: String) {
        let environment = ["A": "/x", "B_2": "y", "EMPTY": ""]
        #expect(ModelReference.expandingVariables(text, environment) == expected)
    }

    @Test func cacheFolderPrecedence() {
        #expect(ModelReference.hubCache(["HF_HOME": "$A/hf", "A": "/x"]).path == "/x/hf/hub")
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        #expect(ModelReference.hubCache(["HF_HUB_CACHE": "/a", "HF_HOME": "/b"]).path == "/a")
        #expect(ModelReference.hubCache(["HUGGINGFACE_HUB_CACHE": "/l", "HF_HOME": "/b"]).path == "/l")
        #expect(ModelReference.hubCache(["HF_HOME": "/b", "XDG_CACHE_HOME": "/x"]).path == "/b/hub")
        #expect(ModelReference.hubCache(["XDG_CACHE_HOME": "/x"]).path == "/x/huggingface/hub")
        #expect(ModelReference.hubCache([:]).path == home + "/.cache/huggingface/hub")
    }
}
