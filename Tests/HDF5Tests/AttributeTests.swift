import Foundation
import HDF5
import Testing

@Suite("Attributes")
struct AttributeTests {
    @Test func everyKindOnGroupsAndDatasets() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { file in
            let group = try file.root.createGroup("statistics")
            let dataset = try group.createDataset("gram", values: [1.0, 2.0])
            for object in [group as any HDF5Object, dataset, file.root] {
                try object.setAttribute("eps", 1e-6)
                try object.setAttribute("count", Int64(-3))
                try object.setAttribute("layers", 28)  // Int → Int64
                try object.setAttribute("title", "MetaGPT λ for τ")
                try object.setAttribute("alphas", [0.0, 0.1, 1.0])
                try object.setAttribute("ids", [Int64.min, 0, Int64.max])
                try object.setAttribute("sizes", [1, 2, 3])
                try object.setAttribute("tasks", ["math", "λ-code", ""])
                try object.setAttribute("no numbers", [Double]())
                try object.setAttribute("no names", [String]())
                try object.setAttribute("value", HDF5AttributeValue.string("as an enum"))
            }
        }
        let root = try HDF5File.open(at: url).root
        let group = try root.group("statistics")
        for object in [group as any HDF5Object, try group.dataset("gram"), root] {
            #expect(try object.attribute("eps", as: Double.self) == 1e-6)
            #expect(try object.attribute("count", as: Int64.self) == -3)
            #expect(try object.attribute("layers", as: Int.self) == 28)
            #expect(try object.attribute("title", as: String.self) == "MetaGPT λ for τ")
            #expect(try object.attribute("alphas", as: [Double].self) == [0.0, 0.1, 1.0])
            #expect(try object.attribute("ids", as: [Int64].self) == [Int64.min, 0, Int64.max])
            #expect(try object.attribute("sizes", as: [Int].self) == [1, 2, 3])
            #expect(try object.attribute("tasks", as: [String].self) == ["math", "λ-code", ""])
            #expect(try object.attribute("no numbers", as: [Double].self) == [])
            #expect(try object.attribute("no names", as: [String].self) == [])
            #expect(try object.attribute("value") == .string("as an enum"))
            #expect(try object.attribute("ids") == .int64s([Int64.min, 0, Int64.max]))
            #expect(try object.attribute("eps") == .double(1e-6))
            #expect(
                try object.attributeNames() == [
                    "alphas", "count", "eps", "ids", "layers", "no names", "no numbers", "sizes", "tasks", "title",
                    "value",
                ])
            #expect(try object.hasAttribute("eps"))
            #expect(try !object.hasAttribute("epsilon"))
        }
    }

    @Test func replaceAndRemove() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { file in
            try file.root.setAttribute("x", 1.5)
            try file.root.setAttribute("x", ["now", "strings"])  // replaced, with another type
            try file.root.setAttribute("y", 2)
            try file.root.removeAttribute("y")
        }
        let root = try HDF5File.open(at: url).root
        #expect(try root.attribute("x", as: [String].self) == ["now", "strings"])
        #expect(try root.attributeNames() == ["x"])
    }
}
