using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts;

namespace TrainingService.Api.Workers;

/// <summary>A live worker process.</summary>
public sealed record WorkerResponse : IOpenApiExample<WorkerResponse>
{
    /// <summary>The worker's id.</summary>
    public required string Id { get; init; }

    /// <summary>The machine it runs on.</summary>
    public required string Host { get; init; }

    /// <summary>The queues it takes jobs from (gpu, cpu, default).</summary>
    public required IReadOnlyList<string> Queues { get; init; }

    /// <summary>The device it trains on.</summary>
    public required string Device { get; init; }

    /// <summary>The job it is running, if any (with authentication on, only for its owner and admins).</summary>
    public required Guid? RunningJobId { get; init; }

    /// <summary>When the process started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When it last reported.</summary>
    public required DateTimeOffset LastHeartbeat { get; init; }

    public static WorkerResponse Example { get; } = new()
    {
        Id = "gpu-worker-1",
        Host = "trainer-7f9c",
        Queues = ["gpu", "default"],
        Device = "cuda:0",
        RunningJobId = Guid.Parse("0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e"),
        StartedAt = new DateTimeOffset(2025, 11, 26, 9, 0, 0, TimeSpan.Zero),
        LastHeartbeat = new DateTimeOffset(2025, 11, 26, 15, 41, 12, TimeSpan.Zero),
    };

    public static WorkerResponse From(WorkerRecord worker) => new()
    {
        Id = worker.Id,
        Host = worker.Host,
        Queues = worker.Queues,
        Device = worker.Device,
        RunningJobId = worker.RunningJobId,
        StartedAt = worker.StartedAt,
        LastHeartbeat = worker.LastHeartbeat,
    };
}
