// Stamps FleetTwinEngine.sourceHash at build time: a content hash of every source file of the
// package (all targets' files and Package.swift), so stored runs and sweep units name the code
// that produced them, and a build from changed sources can never pass as the same build.
import Foundation
import PackagePlugin

@main
struct BuildIdentity: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        var inputs = [root.appending(path: "Package.swift")]
        for case let module as SourceModuleTarget in context.package.targets where module.kind != .test {
            inputs += module.sourceFiles.map(\.url)
        }
        // The calibration files, which the cost model excludes from its sources and embeds.
        let calibration = root.appending(path: "Sources/FleetTwinCostModel/Resources/calibration")
        let names = try FileManager.default.contentsOfDirectory(atPath: calibration.path)
        inputs += names.filter { $0.hasSuffix(".json") }.map { calibration.appending(path: $0) }
        inputs.sort { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildIdentity.swift")
        return [.buildCommand(
            displayName: "Stamping the build identity of \(inputs.count) source files",
            executable: try context.tool(named: "fleettwin-codegen").url,
            arguments: ["identity", output.path, root.path] + inputs.map(\.path),
            inputFiles: inputs, outputFiles: [output])]
    }
}
