// Embeds the calibration measurements (Resources/calibration/*.json of the target) into the
// binary as string constants, so a copied `fleettwin` runs with no resource folder beside it.
import Foundation
import PackagePlugin

@main
struct EmbedCalibration: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let folder = module.directoryURL.appending(path: "Resources/calibration")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        let inputs = names.map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedCalibration.swift")
        return [.buildCommand(
            displayName: "Embedding \(inputs.count) calibration files",
            executable: try context.tool(named: "fleettwin-codegen").url,
            arguments: ["embed", output.path, "EmbeddedCalibration"] + inputs.map(\.path),
            inputFiles: inputs, outputFiles: [output])]
    }
}
