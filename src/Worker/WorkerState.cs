using System.Collections.Concurrent;
using TorchSharp;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using TrainingService.Worker.Hosting;
using TrainingService.Contracts;

namespace TrainingService.Worker;

/// <summary>Who this worker is and what it is running, for job records and <c>GET /workers</c>.</summary>
public sealed class WorkerState
{
    public WorkerState(Microsoft.Extensions.Options.IOptions<WorkerOptions> options) : this(options, CudaAvailability.Current)
    {
    }

    /// <summary>A worker that sees CUDA as <paramref name="cuda"/> says (tests give the facts; the process probes them).</summary>
    public WorkerState(Microsoft.Extensions.Options.IOptions<WorkerOptions> options, CudaAvailability cuda)
    {
        Cuda = cuda;
        Name = string.IsNullOrWhiteSpace(options.Value.Name) ? $"{Environment.MachineName}:{Environment.ProcessId}" : options.Value.Name;
        var configured = options.Value.Queues is { Length: > 0 } queues ? queues : cuda.Usable ? ["gpu", "default"] : ["cpu", "default"];
        // Jobs asking for a GPU wait in the gpu queue: a worker that cannot run them must not take
        // them from it (they would fail here while a GPU worker could run them).
        RefusedQueues = cuda.Usable ? [] : [.. configured.Where(q => q == GpuQueue)];
        Queues = [.. configured.Except(RefusedQueues)];
        Device = cuda.Describe();
        Threads = options.Value.Threads > 0 ? options.Value.Threads : Environment.ProcessorCount;
        StartupProblem =
            options.Value.RequireCuda && !cuda.Usable ? $"Worker:RequireCuda is set but CUDA is not usable: {cuda.Reason}."
            : Queues.Length == 0 ? $"This worker has no queue left to take jobs from: it is configured for {string.Join(",", configured)} only, and CUDA is not usable: {cuda.Reason}."
            : null;
    }

    /// <summary>The queue jobs that ask for <c>cuda</c> go to.</summary>
    public const string GpuQueue = "gpu";

    /// <summary>What the worker found about CUDA at start, with the reason when it is not usable.</summary>
    public CudaAvailability Cuda { get; }

    /// <summary>Configured queues this worker will not take jobs from, because it cannot run them (the gpu queue without CUDA).</summary>
    public string[] RefusedQueues { get; }

    /// <summary>Why this worker must not start, or null: it requires CUDA and has none, or has no queue left.</summary>
    public string? StartupProblem { get; }

    /// <summary>libtorch CPU threads per job (<see cref="WorkerOptions.Threads"/>, else one per core).</summary>
    public int Threads { get; }

    public string Name { get; }
    public string Id { get; } = Guid.NewGuid().ToString("N");
    public string[] Queues { get; }
    public string Device { get; }
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    private readonly ConcurrentDictionary<Guid, byte> running = new();

    public Guid? RunningJobId => running.Keys.FirstOrDefault() is var id && id != Guid.Empty ? id : null;

    public void Started(Guid jobId) => running.TryAdd(jobId, 0);

    public void Stopped(Guid jobId) => running.TryRemove(jobId, out _);

    public static string DescribeDevice(torch.Device device) => Devices.Describe(device);
}
