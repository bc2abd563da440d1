namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>Where the repository and the service's built programs are.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The configuration this benchmark was built in. The API and the worker are project
    /// references built alongside it, so their dlls of this same configuration are the fresh ones;
    /// <c>dotnet run -c Release</c> makes it the Release build the figures are meant for.
    /// </summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public static string ApiDll => Program("Api", "TrainingService.Api");

    /// <summary>The all-in-one local host: the API with a worker in its process.</summary>
    public static string LocalDll => Program("Local", "TrainingService.Local");

    public static string WorkerDll => Program("Worker", "TrainingService.Worker");

    public static string PostgresScript => Path.Combine(Root, "scripts", "postgres.sh");

    private static string Program(string project, string assembly) =>
        Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", assembly + ".dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TrainingService.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("TrainingService.sln not found above " + AppContext.BaseDirectory);
    }
}
