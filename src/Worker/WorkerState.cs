using System.Collections.Concurrent;
using TorchSharp;
using TrainingService.Models.Training;
using TrainingService.Worker.Hosting;

namespace TrainingService.Worker;

/// <summary>Who this worker is and what it is running, for job records and <c>GET /workers</c>.</summary>
public sealed class WorkerState
{
    public WorkerState(Microsoft.Extensions.Options.IOptions<WorkerOptions> options)
    {
        var cudaAvailable = torch.cuda.is_available();
        Name = string.IsNullOrWhiteSpace(options.Value.Name) ? $"{Environment.MachineName}:{Environment.ProcessId}" : options.Value.Name;
        Queues = options.Value.Queues is { Length: > 0 } queues ? queues : cudaAvailable ? ["gpu", "default"] : ["cpu", "default"];
        Device = cudaAvailable ? $"cuda ({torch.cuda.device_count()} device(s))" : "cpu";
        Threads = options.Value.Threads > 0 ? options.Value.Threads : Environment.ProcessorCount;
    }

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
