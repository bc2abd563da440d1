namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>Where the tests find the shared MNIST files and put scratch files.</summary>
public static class TestData
{
    public const string MnistDirectoryVariable = "TRAININGSERVICE_TEST_MNIST";

    /// <summary>
    /// <c>$TRAININGSERVICE_TEST_MNIST</c>, else <c>../shared/mnist</c> beside the checkout that
    /// holds <c>TrainingService.sln</c> (found by walking up from the test binaries, so any
    /// worktree works).
    /// </summary>
    public static string MnistDirectory { get; } = FindMnist();

    /// <summary>The checkout these tests were built from: the folder that holds <c>TrainingService.sln</c>.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string NewScratchDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "TrainingService.Api.Tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindMnist() =>
        Environment.GetEnvironmentVariable(MnistDirectoryVariable) is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.GetFullPath(Path.Combine(FindRepositoryRoot(), "..", "shared", "mnist"));

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TrainingService.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException(
            $"TrainingService.sln not found above {AppContext.BaseDirectory}; set {MnistDirectoryVariable} to the MNIST folder.");
    }
}
