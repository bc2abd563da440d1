using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;
using TrainingService.Tests.Shared;

namespace TrainingService.EndToEnd.Tests;

/// <summary>Finds the repository, the built programs and the shared test data.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the programs are run from the same configuration as these tests.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public static string MnistDirectory =>
        Environment.GetEnvironmentVariable("TRAININGSERVICE_TEST_MNIST") is { Length: > 0 } d ? d : Path.GetFullPath(Path.Combine(Root, "..", "shared", "mnist"));

    public static string Program(string project, string assembly) =>
        Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", assembly + ".dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "TrainingService.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("TrainingService.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A fresh database on the test PostgreSQL server (from scripts/test.sh, or a server of the caller's), dropped at the end.</summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly string serverConnectionString;
    private readonly string name = "e2e_" + Guid.NewGuid().ToString("N");

    private TestDatabase(string serverConnectionString) => this.serverConnectionString = serverConnectionString;

    public string ConnectionString => new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name, Pooling = false }.ConnectionString;

    public static async Task<TestDatabase> CreateAsync() => await CreateAsync(await TestPostgresServer.ConnectionStringAsync());

    /// <summary>On a given server: the fault tests use a private one that they stop and start.</summary>
    public static async Task<TestDatabase> CreateAsync(string server)
    {
        var database = new TestDatabase(server);
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {database.name}", connection);
        await create.ExecuteNonQueryAsync();
        return database;
    }

    public async ValueTask DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(serverConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>One of the service's programs, started as a real process; its output is kept for failure messages.</summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ServiceProcess(Process process) => this.process = process;

    public string Output { get { lock (output) return output.ToString(); } }

    public bool HasExited => process.HasExited;

    public int Id => process.Id;

    /// <summary>The exit code once it has exited.</summary>
    public int ExitCode => process.ExitCode;

    public static ServiceProcess Start(string dll, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        if (!File.Exists(dll)) throw new FileNotFoundException($"Build the solution first: {dll} is missing.");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        var service = new ServiceProcess(new Process { StartInfo = start });
        service.process.OutputDataReceived += (_, e) => service.Append(e.Data);
        service.process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        service.process.Start();
        service.process.BeginOutputReadLine();
        service.process.BeginErrorReadLine();
        return service;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>SIGTERM, as a container runtime stops a process, then waits for it to exit.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!process.HasExited)
        {
            Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
            using var wait = new CancellationTokenSource(timeout);
            try { await process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); }
        }
        return process.ExitCode;
    }

    /// <summary>SIGKILL: the process dies at once, with no chance to record anything (a crash, the OOM killer, a lost machine).</summary>
    public async Task KillAsync()
    {
        if (process.HasExited) return;
        process.Kill(entireProcessTree: false);
        await process.WaitForExitAsync();
    }

    /// <summary>Sends a signal by name (TERM, STOP, CONT) and returns at once.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", [$"-{name}", process.Id.ToString()])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{name} {process.Id} failed ({kill.ExitCode})");
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to exit; true when it did.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(wait.Token); return true; }
        catch (OperationCanceledException) { return false; }
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
