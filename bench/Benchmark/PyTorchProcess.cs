using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainingService.Benchmark;

/// <summary>
/// Debian's PyTorch (python3-torch, run by /usr/bin/python3) as a child process answering
/// bench/Benchmark/pytorch_loops.py's requests, one JSON line each way. It stays up for the whole
/// run so that its loops and the engine's take turns on the same cores, interleaved.
/// </summary>
internal sealed class PyTorchProcess : IDisposable
{
    public const string Python = "/usr/bin/python3";
    private readonly Process process;

    private PyTorchProcess(Process process) => this.process = process;

    /// <summary>Null, with the reason, when this machine has no python3-torch: the comparison is then skipped.</summary>
    public static (PyTorchProcess? Process, string? Missing) TryStart(string dataDirectory, int threads)
    {
        if (!File.Exists(Python))
            return (null, $"{Python} not found");
        var script = FindScript();
        if (script is null)
            return (null, "bench/Benchmark/pytorch_loops.py not found above the benchmark's folder");
        using (var probe = Process.Start(new ProcessStartInfo(Python, ["-c", "import torch"]) { RedirectStandardError = true })!)
        {
            probe.StandardError.ReadToEnd();
            probe.WaitForExit();
            if (probe.ExitCode != 0)
                return (null, $"{Python} cannot import torch (install Debian's python3-torch: bash scripts/prerequisites.sh --benchmark)");
        }
        var start = new ProcessStartInfo(Python, [script, Path.GetFullPath(dataDirectory), threads.ToString()])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false, // a traceback goes straight to the console
        };
        // Its OpenMP team gets the same number of threads as the engine's, and nothing else differs.
        start.Environment["OMP_NUM_THREADS"] = threads.ToString();
        var child = new PyTorchProcess(Process.Start(start)!);
        var ready = child.ReadReply();
        return ready["ready"]?.GetValue<bool>() == true ? (child, null) : throw new InvalidOperationException($"pytorch_loops.py did not start: {ready}");
    }

    public JsonObject Send(object request)
    {
        process.StandardInput.WriteLine(JsonSerializer.Serialize(request));
        process.StandardInput.Flush();
        var reply = ReadReply();
        if (reply["error"] is { } error)
            throw new InvalidOperationException($"PyTorch failed on {JsonSerializer.Serialize(request)}: {error}");
        return reply;
    }

    /// <summary>Images/s of a timed request.</summary>
    public double Rate(object request) => Send(request)["images_per_second"]!.GetValue<double>();

    private JsonObject ReadReply()
    {
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"pytorch_loops.py exited (code {(process.HasExited ? process.ExitCode : -1)})");
        return JsonNode.Parse(line)!.AsObject();
    }

    private static string? FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "bench", "Benchmark", "pytorch_loops.py");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public void Dispose()
    {
        try
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(5000)) process.Kill();
        }
        finally { process.Dispose(); }
    }
}
