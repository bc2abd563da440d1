using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>
/// One of the service's programs (the API or a worker) as a real child process. The last lines
/// of its output are kept for error messages. Every process started is also registered in
/// <see cref="Live"/>, so an abnormal end of the benchmark (Ctrl+C, an unhandled exception)
/// still kills it rather than leaving a server listening or a worker training.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private const int TailLines = 40;
    private static readonly ConcurrentDictionary<int, Process> Live = new();

    // Settings of the machine's environment that would change what is measured: the benchmark
    // sets every one it needs itself, and the rest take the service's defaults.
    private static readonly string[] InheritedSettingPrefixes =
        ["Storage__", "Checkpoints__", "Mnist__", "Worker__", "JobsApi__", "WorkersApi__", "Logging__", "Dashboard__", "Serilog__", "Auth__", "Limits__"];
    private static readonly string[] InheritedSettings =
        ["ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"];

    private readonly Process process;
    private readonly Queue<string> tail = new();

    private ServiceProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    public string Name { get; }

    public bool HasExited => process.HasExited;

    public int Pid => process.Id;

    /// <summary>The last lines the process printed, for a failure message.</summary>
    public string Tail
    {
        get
        {
            lock (tail)
                return string.Join(Environment.NewLine, tail);
        }
    }

    /// <summary>Starts <c>dotnet <paramref name="dll"/></c> in <paramref name="workingDirectory"/> with <paramref name="settings"/> as its environment on top of a cleaned copy of ours.</summary>
    public static ServiceProcess Start(string name, string dll, string workingDirectory, IReadOnlyDictionary<string, string> settings, params string[] arguments)
    {
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing: build with `dotnet build -c {RepositoryPaths.Configuration} bench/ServiceBench` (or use dotnet run, which builds it).");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var key in start.Environment.Keys.ToList())
        {
            if (InheritedSettings.Contains(key, StringComparer.OrdinalIgnoreCase)
                || InheritedSettingPrefixes.Any(p => key.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
                start.Environment.Remove(key);
        }
        // Production: no developer exception page, the same middleware a deployment runs.
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings)
            start.Environment[key] = value;

        var service = new ServiceProcess(name, new Process { StartInfo = start });
        service.process.OutputDataReceived += (_, e) => service.Append(e.Data);
        service.process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        service.process.Start();
        Live[service.process.Id] = service.process;
        service.process.BeginOutputReadLine();
        service.process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Waits for the process to end by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode;
    }

    /// <summary>A TCP port free on the loopback interface right now (the service binds it moments later).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Last resort on an abnormal exit: kills every child still running.</summary>
    public static void KillAllStarted()
    {
        foreach (var (id, process) in Live)
        {
            try
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            Live.TryRemove(id, out _);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (tail)
        {
            tail.Enqueue(line);
            while (tail.Count > TailLines)
                tail.Dequeue();
        }
    }

    /// <summary>
    /// Kills the process outright. Nothing it holds needs a clean shutdown here: its database is
    /// dropped and its folders deleted right after, and a graceful stop of a worker would wait for
    /// its job to reach a checkpoint.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await process.WaitForExitAsync(wait.Token);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            Console.Error.WriteLine($"warning: {Name} (pid {process.Id}) did not exit when killed: {e.Message}");
        }
        finally
        {
            Live.TryRemove(process.Id, out _);
            process.Dispose();
        }
    }
}
