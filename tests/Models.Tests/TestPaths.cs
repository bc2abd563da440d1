namespace TrainingService.Models.Tests;

/// <summary>Where tests find shared data and put scratch files.</summary>
public static class TestPaths
{
    /// <summary>Overrides where the real MNIST files are looked for (e.g. on CI).</summary>
    public const string MnistDirectoryVariable = "TRAININGSERVICE_TEST_MNIST";

    private static readonly Lazy<string> mnistDirectory = new(FindMnistDirectory);

    /// <summary>
    /// Folder holding the four real MNIST .gz files: <c>$TRAININGSERVICE_TEST_MNIST</c> if set,
    /// otherwise <c>../shared/mnist</c> next to the folder that holds <c>TrainingService.sln</c>.
    /// </summary>
    public static string MnistDirectory => mnistDirectory.Value;

    /// <summary>Overrides where the real Fashion-MNIST files are looked for.</summary>
    public const string FashionMnistDirectoryVariable = "TRAININGSERVICE_TEST_FASHION_MNIST";

    /// <summary>
    /// Folder holding the four real Fashion-MNIST files: <c>$TRAININGSERVICE_TEST_FASHION_MNIST</c> if set,
    /// otherwise where Debian's <c>dataset-fashion-mnist</c> installs them (scripts/prerequisites.sh installs it).
    /// </summary>
    public static string FashionMnistDirectory
    {
        get
        {
            var directory = Environment.GetEnvironmentVariable(FashionMnistDirectoryVariable) is { Length: > 0 } d
                ? d : TrainingService.Contracts.Datasets.DatasetCatalog.FashionMnist.DefaultDirectory!;
            return Directory.Exists(directory) ? directory
                : throw new DirectoryNotFoundException(
                    $"Fashion-MNIST not found at '{directory}': run `bash scripts/prerequisites.sh` (it installs Debian's dataset-fashion-mnist) or set {FashionMnistDirectoryVariable}.");
        }
    }

    /// <summary>Creates a new, empty folder of its own under the system temp folder.</summary>
    public static string NewTempDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "TrainingService.Tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindMnistDirectory()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(MnistDirectoryVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return Directory.Exists(fromEnvironment)
                ? Path.GetFullPath(fromEnvironment)
                : throw new DirectoryNotFoundException(
                    $"{MnistDirectoryVariable} is set to '{fromEnvironment}', but that folder does not exist.");
        }

        // Walk up rather than hard-code a depth: the tests run from bin/<config>/<tfm>/ in any
        // checkout or worktree, and the shared data lies next to the checkout, not inside it.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TrainingService.sln")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "mnist"));
                return Directory.Exists(candidate)
                    ? candidate
                    : throw new DirectoryNotFoundException(
                        $"MNIST test data not found at '{candidate}' (../shared/mnist next to the repository " +
                        $"'{dir.FullName}'). Put the four MNIST .gz files there or set {MnistDirectoryVariable}.");
            }
        }

        throw new DirectoryNotFoundException(
            $"Could not find TrainingService.sln above '{AppContext.BaseDirectory}' to locate the MNIST test data; " +
            $"set {MnistDirectoryVariable} to the folder holding the four MNIST .gz files.");
    }
}
