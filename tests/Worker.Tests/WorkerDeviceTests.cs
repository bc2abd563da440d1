using System.Diagnostics;
using System.Text;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using TrainingService.Worker.Hosting;
using TrainingService.Contracts;

namespace TrainingService.Worker.Tests;

/// <summary>
/// What a worker does about CUDA: says why it is not usable, never takes GPU jobs it cannot run,
/// and refuses to start when told to require a GPU it lacks — checked on the facts, and on this
/// machine with the real worker program.
/// </summary>
public sealed class WorkerDeviceTests
{
    private static readonly CudaAvailability NoCuda = CudaAvailability.Diagnose(new CudaFacts(false, 0, true, false, null));
    private static readonly CudaAvailability TwoGpus = CudaAvailability.Diagnose(new CudaFacts(true, 2, true, true, null));

    [Fact]
    public void TheReasonNamesTheFirstMissingPiece()
    {
        var cpuBuild = CudaAvailability.Diagnose(new CudaFacts(false, 0, CudaBackendPresent: false, DriverLoadable: true, null));
        Assert.False(cpuBuild.Usable);
        Assert.Contains("CPU-only libtorch", cpuBuild.Reason);
        Assert.Contains("worker-gpu image", cpuBuild.Reason);

        Assert.Contains("libcuda.so.1", NoCuda.Reason);
        Assert.Contains("--gpus", NoCuda.Reason);

        var hidden = CudaAvailability.Diagnose(new CudaFacts(false, 0, true, true, VisibleDevices: "-1"));
        Assert.Contains("CUDA_VISIBLE_DEVICES='-1'", hidden.Reason);

        var shown = CudaAvailability.Diagnose(new CudaFacts(false, 0, true, true, VisibleDevices: "0"));
        Assert.Contains("driver loads but libtorch found no usable GPU", shown.Reason);

        Assert.True(TwoGpus.Usable);
        Assert.Null(TwoGpus.Reason);
        Assert.Equal("cuda (2 device(s))", TwoGpus.Describe());
        Assert.Equal("cpu", NoCuda.Describe());
    }

    [Fact]
    public void OnThisMachineTheProbeAgreesWithLibtorchAndExplainsANo()
    {
        var probed = CudaAvailability.Probe();
        Assert.Equal(TorchSharp.torch.cuda.is_available(), probed.Usable);
        if (probed.Usable) return;

        Assert.False(string.IsNullOrWhiteSpace(probed.Reason));
        var cudaBuild = Directory.EnumerateFiles(AppContext.BaseDirectory, "libtorch_cuda.so", SearchOption.AllDirectories).Any();
        if (!cudaBuild)
            Assert.Contains("TorchBackend=cpu", probed.Reason);
    }

    [Fact]
    public void AWorkerWithoutCudaDropsTheGpuQueueItWasConfiguredFor()
    {
        var state = new WorkerState(Microsoft.Extensions.Options.Options.Create(new WorkerOptions { Queues = ["gpu", "default"] }), NoCuda);

        Assert.Equal(["default"], state.Queues);
        Assert.Equal(["gpu"], state.RefusedQueues);
        Assert.Equal("cpu", state.Device);
        Assert.Null(state.StartupProblem);
    }

    [Fact]
    public void DefaultQueuesFollowTheDevice()
    {
        var gpu = new WorkerState(Microsoft.Extensions.Options.Options.Create(new WorkerOptions()), TwoGpus);
        var cpu = new WorkerState(Microsoft.Extensions.Options.Options.Create(new WorkerOptions()), NoCuda);

        Assert.Equal(["gpu", "default"], gpu.Queues);
        Assert.Empty(gpu.RefusedQueues);
        Assert.Equal(["cpu", "default"], cpu.Queues);
        Assert.Empty(cpu.RefusedQueues);
    }

    [Fact]
    public void AGpuOnlyWorkerWithoutCudaHasAStartupProblemSayingWhy()
    {
        var state = new WorkerState(Microsoft.Extensions.Options.Options.Create(new WorkerOptions { Queues = ["gpu"] }), NoCuda);

        Assert.Empty(state.Queues);
        Assert.NotNull(state.StartupProblem);
        Assert.Contains("no queue left", state.StartupProblem);
        Assert.Contains("libcuda.so.1", state.StartupProblem);
    }

    [Fact]
    public void RequiringCudaIsAProblemOnlyWithoutIt()
    {
        var required = Microsoft.Extensions.Options.Options.Create(new WorkerOptions { RequireCuda = true });

        Assert.Null(new WorkerState(required, TwoGpus).StartupProblem);
        var problem = new WorkerState(required, NoCuda).StartupProblem;
        Assert.NotNull(problem);
        Assert.Contains("RequireCuda", problem);
        Assert.Contains("libcuda.so.1", problem);
    }

    [Fact]
    public async Task TheWorkerProgramRequiringCudaOnACpuMachineExitsSayingWhy()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // the refusal under test needs a machine without CUDA
        using var folder = new TemporaryFolder();

        var (exitCode, output) = await RunWorkerAsync(folder.Path, new() { ["Worker__RequireCuda"] = "true" }, stopWhen: null);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("refuses to start", output);
        Assert.Contains("CUDA is not usable", output);
        Assert.Contains(CudaAvailability.Current.Reason!, output);
    }

    [Fact]
    public async Task TheWorkerProgramLogsItsDeviceAndKeepsItsLivenessFileFresh()
    {
        using var folder = new TemporaryFolder();
        var liveness = Path.Combine(folder.Path, "run", "worker.alive");

        var (_, output) = await RunWorkerAsync(folder.Path, new() { ["Worker__LivenessFile"] = liveness },
            stopWhen: () => File.Exists(liveness));

        Assert.True(File.Exists(liveness), "the liveness file was not written; worker output:\n" + output);
        Assert.Contains($"device {CudaAvailability.Current.Describe()}", output);
        var written = DateTimeOffset.Parse(await File.ReadAllTextAsync(liveness), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(written > DateTimeOffset.UtcNow.AddMinutes(-10), $"the liveness file holds {written:O}");
    }

    /// <summary>
    /// Runs the real worker program on an embedded store in <paramref name="folder"/> until it exits,
    /// or until <paramref name="stopWhen"/> holds (then stops it), within a generous bound.
    /// </summary>
    private static async Task<(int ExitCode, string Output)> RunWorkerAsync(string folder, Dictionary<string, string> settings, Func<bool>? stopWhen)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "TrainingService.Worker.dll")])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["Storage__SqlitePath"] = Path.Combine(folder, "jobs.db");
        start.Environment["Checkpoints__Root"] = Path.Combine(folder, "checkpoints");
        start.Environment["Mnist__Download"] = "false";
        start.Environment["Worker__Threads"] = "1";
        foreach (var (key, value) in settings) start.Environment[key] = value;

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!process.HasExited && DateTime.UtcNow < deadline && !(stopWhen?.Invoke() ?? false))
            await Task.Delay(200);
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        lock (output) return (process.ExitCode, output.ToString());
    }

    private sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("trainingservice-worker-device-").FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); }
            catch (IOException) { }
        }
    }
}
