namespace TrainingService.Worker.Hosting;

/// <summary>How a worker process takes and runs jobs. Bound from the <c>Worker</c> section.</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>
    /// Whether this process runs jobs. The standalone worker always does; the API hosts a worker
    /// in-process only on the embedded store unless this says otherwise (<c>Worker__Enabled</c>).
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>The Hangfire queues this worker takes jobs from; empty: <c>gpu, default</c> where CUDA works, else <c>cpu, default</c>.</summary>
    public string[] Queues { get; set; } = [];

    /// <summary>Jobs run at once. One per GPU or one on a CPU is the sensible default: jobs compete for the same cores.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>libtorch CPU threads per job (torch.set_num_threads, set once on each training thread); 0 means one per core.</summary>
    public int Threads { get; set; }

    /// <summary>How often a running job's heartbeat (and progress) is written.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A running job whose heartbeat is older than this is presumed to have lost its worker.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the worker checks whether cancellation of its running job was asked for (each check is a database read).</summary>
    public TimeSpan CancellationPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts a job gets for infrastructure failures before it is failed; user errors are never retried.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>How long a stopping worker waits for its running job to checkpoint and let go.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The worker's name in <c>GET /workers</c> and job records; empty: host name and process id.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Refuse to start, saying why, when CUDA is not usable (<c>Worker__RequireCuda</c>). The GPU image sets it: a
    /// GPU worker that cannot see its GPU should fail where an operator sees it, not quietly train on the CPU.
    /// </summary>
    public bool RequireCuda { get; set; }

    /// <summary>
    /// A file the worker touches every few seconds while its heartbeat loop runs (<c>Worker__LivenessFile</c>);
    /// container health checks and liveness probes test its age. Empty: none.
    /// </summary>
    public string? LivenessFile { get; set; }
}

/// <summary>Where the MNIST files are. Bound from the <c>Mnist</c> section.</summary>
public sealed class MnistOptions
{
    public const string SectionName = "Mnist";

    public string DataDirectory { get; set; } = "./data/mnist";

    /// <summary>Fetch missing files from the public mirrors on first use.</summary>
    public bool Download { get; set; } = true;
}
