using System.Diagnostics;
using System.Text.RegularExpressions;
using TrainingService.EndToEnd.Tests;

namespace TrainingService.Faults.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL server of the test's own (scripts/postgres.sh on a private folder and
/// port), which the test may stop and start. Never the shared server that TRAININGSERVICE_TEST_POSTGRES
/// names: other test assemblies run against that one in parallel.
/// </summary>
internal sealed partial class PrivatePostgres : IAsyncDisposable
{
    private readonly string directory;

    private PrivatePostgres(string directory, string connectionString) => (this.directory, ConnectionString) = (directory, connectionString);

    /// <summary>The server's <c>postgres</c> database, as its superuser.</summary>
    public string ConnectionString { get; }

    public static async Task<PrivatePostgres> StartAsync()
    {
        // Under /tmp: as root the server runs as the postgres user, who must be able to reach the folder.
        var directory = Path.Combine(Path.GetTempPath(), "trainingservice-faults-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var output = await RunScriptAsync("start", directory);
        var match = ExportLine().Match(output);
        if (!match.Success) throw new InvalidOperationException("scripts/postgres.sh start printed no connection string:\n" + output);
        return new PrivatePostgres(directory, match.Groups[1].Value);
    }

    /// <summary>Stops the server (fast shutdown: every connection is cut).</summary>
    public Task StopAsync() => RunScriptAsync("stop", directory);

    /// <summary>Starts it again, on the same port and with the same data.</summary>
    public Task StartAgainAsync() => RunScriptAsync("start", directory);

    private static async Task<string> RunScriptAsync(string command, string directory)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(Repository.Root, "scripts", "postgres.sh"));
        start.ArgumentList.Add(command);
        start.ArgumentList.Add(directory);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"scripts/postgres.sh {command} {directory} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        return await stdout;
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [GeneratedRegex("TRAININGSERVICE_TEST_POSTGRES='([^']+)'")]
    private static partial Regex ExportLine();
}
