using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Npgsql;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>
/// The PostgreSQL server the benchmark works on: the one <c>TRAININGSERVICE_TEST_POSTGRES</c>
/// names, or else a throwaway one started with <c>scripts/postgres.sh</c> into a temporary folder
/// and stopped (and deleted) at the end. Either way only on loopback, and every database the
/// benchmark uses is a fresh one of its own, dropped when done.
/// </summary>
internal sealed partial class PostgresServer : IAsyncDisposable
{
    public const string EnvironmentVariable = "TRAININGSERVICE_TEST_POSTGRES";
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(5);

    private readonly string? startedInDirectory;

    private PostgresServer(string connectionString, string? startedInDirectory)
    {
        ConnectionString = connectionString;
        this.startedInDirectory = startedInDirectory;
    }

    /// <summary>The server's connection string (its maintenance database), as given.</summary>
    public string ConnectionString { get; }

    public string Describe()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"{builder.Host}:{builder.Port}" + (startedInDirectory is null ? $" (from {EnvironmentVariable})" : $" (started in {startedInDirectory})");
    }

    public static async Task<PostgresServer> StartOrUseAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } given)
        {
            RequireLoopback(given);
            return new PostgresServer(given, null);
        }

        // A folder the script creates itself: as root it hands the folder to the postgres user.
        var directory = Path.Combine(Path.GetTempPath(), "servicebench-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var server = new PostgresServer("", directory);
        try
        {
            var (exitCode, output, errors) = await RunAsync(RepositoryPaths.PostgresScript, ["start", directory], cancellationToken);
            if (exitCode != 0 || ExportLine().Match(output) is not { Success: true } match)
                throw new InvalidOperationException($"scripts/postgres.sh start failed (exit {exitCode}):\n{errors}{output}");
            return new PostgresServer(match.Groups[1].Value, directory);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh, empty database on this server.</summary>
    public async Task<BenchDatabase> CreateDatabaseAsync(string purpose, CancellationToken cancellationToken)
    {
        // A name of our own making only (lowercase letters, digits, underscore, under PostgreSQL's
        // 63 characters): it goes into DDL unquoted.
        if (purpose.Length > 16 || !purpose.All(char.IsAsciiLetterLower))
            throw new ArgumentException("A short lowercase word.", nameof(purpose));
        var name = $"servicebench_{purpose}_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(Unpooled(ConnectionString));
        await connection.OpenAsync(cancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
        return new BenchDatabase(this, name);
    }

    internal async Task DropDatabaseAsync(string name)
    {
        // WITH (FORCE) ends the sessions a killed service process may have left behind.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var connection = new NpgsqlConnection(Unpooled(ConnectionString));
        await connection.OpenAsync(timeout.Token);
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync(timeout.Token);
    }

    private static string Unpooled(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;

    public async ValueTask DisposeAsync()
    {
        if (startedInDirectory is null)
            return;
        try
        {
            using var timeout = new CancellationTokenSource(ScriptTimeout);
            var (exitCode, output, errors) = await RunAsync(RepositoryPaths.PostgresScript, ["stop", startedInDirectory], timeout.Token);
            if (exitCode != 0)
                Console.Error.WriteLine($"warning: scripts/postgres.sh stop exited {exitCode}: {errors}{output}");
            if (Directory.Exists(startedInDirectory))
                Directory.Delete(startedInDirectory, recursive: true);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"warning: could not stop the PostgreSQL server in {startedInDirectory}: {e.Message}");
        }
    }

    /// <summary>The benchmark drops databases and measures loopback latency: a remote server is a mistake either way.</summary>
    private static void RequireLoopback(string connectionString)
    {
        var host = new NpgsqlConnectionStringBuilder(connectionString).Host ?? "";
        var loopback = host.Split(',').All(h =>
            h.Trim() is "localhost" || (IPAddress.TryParse(h.Trim(), out var address) && IPAddress.IsLoopback(address)));
        if (!loopback)
            throw new InvalidOperationException($"{EnvironmentVariable} points at '{host}'; the benchmark runs on loopback only (127.0.0.1 or localhost).");
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string file, string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ScriptTimeout);
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output, await errors);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }

    [GeneratedRegex("^export " + EnvironmentVariable + "='([^']*)'$", RegexOptions.Multiline)]
    private static partial Regex ExportLine();
}

/// <summary>A database of the benchmark's own on <see cref="PostgresServer"/>; dropped on dispose.</summary>
internal sealed class BenchDatabase(PostgresServer server, string name) : IAsyncDisposable
{
    public string Name { get; } = name;

    /// <summary>With Npgsql's default pooling: the services run as they would in production.</summary>
    public string ConnectionString { get; } = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name }.ConnectionString;

    public async ValueTask DisposeAsync()
    {
        // This process's own pooled connections to it would otherwise linger until the pool prunes them.
        NpgsqlConnection.ClearAllPools();
        try
        {
            await server.DropDatabaseAsync(Name);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"warning: could not drop database {Name}: {e.Message}");
        }
    }
}
