using System.Text.Json;

namespace TrainingService.Architecture.Tests;

/// <summary>
/// The rule the project references draw: <c>Api → Contracts ← Worker → Models</c>, with only the
/// all-in-one local host referencing both sides. The API's build, publish folder and image must
/// carry no training stack, so an API pod stays small, starts quickly and never loads libtorch.
/// </summary>
public sealed class DependencyRuleTests
{
    private static readonly string Api = Repository.Project("src/Api/Api.csproj");
    private static readonly string Contracts = Repository.Project("src/Contracts/Contracts.csproj");
    private static readonly string Models = Repository.Project("src/Models/Models.csproj");
    private static readonly string Worker = Repository.Project("src/Worker/Worker.csproj");

    [Fact]
    public void TheApiProjectHasNoPathToTheModelsOrTheWorker()
    {
        var closure = Repository.ProjectClosure(Api);

        Assert.Contains(Contracts, closure);
        Assert.DoesNotContain(Models, closure);
        Assert.DoesNotContain(Worker, closure);
    }

    [Fact]
    public void TheApiRestoresNoTrainingPackages()
    {
        var packages = RestoredPackages(Api);

        Assert.Contains("Npgsql", packages); // the graph was read: the store's driver is in it
        Assert.DoesNotContain(packages, p => p.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(packages, p => p.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void TheContractNeedsNeitherSidesDependencies()
    {
        Assert.Empty(Repository.ProjectClosure(Contracts));
        var packages = RestoredPackages(Contracts);

        Assert.All(packages, p => Assert.StartsWith("Microsoft.Extensions.", p));
    }

    [Fact]
    public void OnlyTheLocalHostReferencesBothSides()
    {
        var both = Directory.EnumerateFiles(Repository.Project("src"), "*.csproj", SearchOption.AllDirectories)
            .Where(p => Repository.ProjectClosure(p) is var closure && closure.Contains(Api) && closure.Contains(Worker))
            .Select(p => Path.GetFileName(p));

        Assert.Equal(["Local.csproj"], both);
    }

    [Fact]
    public void TheApisPublishOutputCarriesNoTrainingStack()
    {
        var output = Path.Combine(Path.GetTempPath(), "TrainingService.Architecture.Tests", Guid.NewGuid().ToString("N"));
        try
        {
            // From the build that ran before the tests, as the Dockerfile publishes it (linux-x64, framework-dependent).
            Repository.Run("dotnet", "publish", Api, "-c", Repository.Configuration, "--no-build", "-o", output, "-nologo");
            var files = Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(output, f)).ToList();

            Assert.Contains("TrainingService.Api.dll", files);
            Assert.Contains("TrainingService.Contracts.dll", files);
            Assert.DoesNotContain(files, f => Path.GetFileName(f).StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(files, f => Path.GetFileName(f).StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(files, f => f.Contains("LibTorchSharp", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(files, f => Path.GetFileName(f) is "TrainingService.Models.dll" or "TrainingService.Worker.dll");
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>Every package in the project's restore graph (obj/project.assets.json), direct or transitive.</summary>
    private static IReadOnlyList<string> RestoredPackages(string project)
    {
        var assets = Path.Combine(Path.GetDirectoryName(project)!, "obj", "project.assets.json");
        using var document = JsonDocument.Parse(File.ReadAllText(assets));
        return [.. document.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(l => l.Value.GetProperty("type").GetString() == "package")
            .Select(l => l.Name.Split('/')[0])];
    }
}
