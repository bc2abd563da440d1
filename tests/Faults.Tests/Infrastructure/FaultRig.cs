using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using TrainingService.EndToEnd.Tests;
using TrainingService.Tests.Shared;

namespace TrainingService.Faults.Tests.Infrastructure;

/// <summary>
/// The service as separate processes for one fault test: on its own PostgreSQL server (the API
/// plus workers the test starts, kills and signals), or embedded (the API alone on SQLite with its
/// in-process worker). Every timing setting is shortened through the environment, as an operator
/// would set it; waits are for conditions, with generous bounds, never for durations.
/// </summary>
internal sealed class FaultRig : IAsyncDisposable
{
    /// <summary>Long enough for a few tiny epochs on a loaded 2-core machine with other test processes beside it.</summary>
    public static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(6);

    private readonly ITestOutputHelper output;
    private readonly List<(string Name, ServiceProcess Process)> processes = [];
    private readonly List<string> temporaryFolders = [];
    private ServiceProcess? api;

    private FaultRig(ITestOutputHelper output, Dictionary<string, string> environment) => (this.output, Environment) = (output, environment);

    /// <summary>What every process of the rig gets, API and workers alike.</summary>
    public Dictionary<string, string> Environment { get; }

    public string CheckpointRoot { get; private set; } = "";

    public PrivatePostgres? Postgres { get; private set; }

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Whether <see cref="Api"/> is the all-in-one local host (src/Local) rather than the API alone.</summary>
    private bool embedded;

    public ServiceProcess Api => api ?? throw new InvalidOperationException("the API is not started");

    /// <summary>
    /// A private PostgreSQL server, a database on it, and the API (no in-process worker); workers
    /// are started by the test. <paramref name="settings"/> override the shortened defaults.
    /// </summary>
    public static async Task<FaultRig> StartOnPostgresAsync(ITestOutputHelper output, IReadOnlyDictionary<string, string>? settings = null, string? checkpointRoot = null)
    {
        var postgres = await PrivatePostgres.StartAsync();
        try
        {
            var database = await TestDatabase.CreateAsync(postgres.ConnectionString);
            // Pooled, as in production: after an outage the pool's dead connections must be noticed and replaced.
            var connection = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = true }.ConnectionString;
            var rig = Create(output, settings, checkpointRoot);
            rig.Postgres = postgres;
            rig.Environment["Storage__PostgresConnectionString"] = connection;
            // Authentication (on by default with PostgreSQL) is the security tests' subject, not these.
            await rig.StartApiAsync(new Dictionary<string, string> { ["Auth__Enabled"] = "false" });
            return rig;
        }
        catch
        {
            await postgres.DisposeAsync();
            throw;
        }
    }

    /// <summary>The embedded layout: the all-in-one local host (API and worker in one process), on a SQLite file.</summary>
    public static async Task<FaultRig> StartEmbeddedAsync(ITestOutputHelper output, IReadOnlyDictionary<string, string>? settings = null)
    {
        var rig = Create(output, settings, null);
        rig.embedded = true;
        var data = rig.TemporaryFolder("trainingservice-faults-sqlite-");
        rig.Environment["Storage__SqlitePath"] = Path.Combine(data, "trainingservice.db");
        await rig.StartApiAsync();
        return rig;
    }

    /// <summary>The tests' <c>Worker__StaleAfter</c>: a heartbeat older than this means the worker is lost.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(10);

    /// <summary>The tests' <c>Worker__ReaperInterval</c>.</summary>
    public static readonly TimeSpan ReaperInterval = TimeSpan.FromSeconds(1);

    private static FaultRig Create(ITestOutputHelper output, IReadOnlyDictionary<string, string>? settings, string? checkpointRoot)
    {
        var environment = new Dictionary<string, string>
        {
            ["Mnist__DataDirectory"] = Repository.MnistDirectory,
            ["Mnist__Download"] = "false",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            // One libtorch thread per job: several test processes share two cores, and a fixed
            // thread count is what makes CPU results bit-identical between runs.
            ["Worker__Threads"] = "1",
            ["Worker__HeartbeatInterval"] = "00:00:01",
            ["Worker__StaleAfter"] = StaleAfter.ToString("c"),
            ["Worker__ReaperInterval"] = ReaperInterval.ToString("c"),
            ["Worker__CancellationPollInterval"] = "00:00:01",
            ["Worker__ShutdownTimeout"] = "00:00:30",
        };
        var rig = new FaultRig(output, environment);
        rig.CheckpointRoot = checkpointRoot ?? rig.TemporaryFolder("trainingservice-faults-checkpoints-");
        rig.Environment["Checkpoints__Root"] = rig.CheckpointRoot;
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            rig.Environment[key] = value;
        return rig;
    }

    private string TemporaryFolder(string prefix)
    {
        var folder = Directory.CreateTempSubdirectory(prefix).FullName;
        temporaryFolders.Add(folder);
        return folder;
    }

    /// <summary>The API's own settings beside <see cref="Environment"/>, kept for its restarts.</summary>
    private IReadOnlyDictionary<string, string> apiSettings = new Dictionary<string, string>();

    /// <summary>
    /// Starts (or, after a kill, starts again) the API, on a new port, and waits until it is ready.
    /// <paramref name="extra"/> settings are kept for later starts.
    /// </summary>
    public async Task StartApiAsync(IReadOnlyDictionary<string, string>? extra = null)
    {
        var port = ServiceProcess.FreePort();
        var environment = new Dictionary<string, string>(Environment);
        apiSettings = extra ?? apiSettings;
        foreach (var (key, value) in apiSettings) environment[key] = value;
        var program = embedded ? Repository.Program("Local", "TrainingService.Local") : Repository.Program("Api", "TrainingService.Api");
        api = ServiceProcess.Start(program, environment, "--urls", $"http://127.0.0.1:{port}");
        processes.Add(("api", api));
        Http?.Dispose();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        await WaitUntilAsync(async () =>
        {
            Assert.False(api.HasExited, "the API exited:\n" + api.Output);
            try { return (await Http.GetAsync("/health/ready")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, "the API to become ready", TimeSpan.FromSeconds(120));
    }

    /// <summary>A worker process named <paramref name="name"/> (its name in job records and logs).</summary>
    public ServiceProcess StartWorker(string name, IReadOnlyDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>(Environment) { ["Worker__Name"] = name };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>()) environment[key] = value;
        var worker = ServiceProcess.Start(Repository.Program("Worker", "TrainingService.Worker"), environment);
        processes.Add((name, worker));
        return worker;
    }

    /// <summary>Submits a CPU training job (the convnet, tiny, unless told otherwise) and returns its id.</summary>
    public async Task<string> SubmitAsync(string name, int epochs, int trainSubset = 2000, double? learningRate = null,
        string device = "cpu", string? optimizer = null, string? lrSchedule = null, int seed = 7,
        string architecture = "convnet", int batchSize = 100, string? tag = null)
    {
        var hyperparameters = new JsonObject
        {
            ["epochs"] = epochs,
            ["batchSize"] = batchSize,
            ["trainSubset"] = trainSubset,
            ["seed"] = seed,
            ["device"] = device,
        };
        if (learningRate is { } lr) hyperparameters["learningRate"] = lr;
        if (optimizer is not null) hyperparameters["optimizer"] = optimizer;
        if (lrSchedule is not null) hyperparameters["lrSchedule"] = lrSchedule;
        var request = new JsonObject
        {
            ["kind"] = "train",
            ["architecture"] = architecture,
            ["name"] = name,
            ["tags"] = tag is null ? new JsonArray("faults") : new JsonArray("faults", tag),
            ["hyperparameters"] = hyperparameters,
        };
        return await PostJobAsync(request);
    }

    /// <summary>Submits an eval job of <paramref name="source"/>'s final checkpoint and returns its id.</summary>
    public Task<string> SubmitEvalAsync(string source, string name, string? tag = null, string? idempotencyKey = null) => PostJobAsync(new JsonObject
    {
        ["kind"] = "eval",
        ["name"] = name,
        ["tags"] = tag is null ? new JsonArray("faults") : new JsonArray("faults", tag),
        ["source"] = new JsonObject { ["jobId"] = source, ["checkpoint"] = "final" },
    }, idempotencyKey);

    private async Task<string> PostJobAsync(JsonObject request, string? idempotencyKey = null)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = JsonContent.Create(request) };
        if (idempotencyKey is not null)
            message.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await Http.SendAsync(message);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /jobs answered {(int)response.StatusCode}: {body}");
        return (string)JsonNode.Parse(body)!["id"]!;
    }

    public async Task<JsonObject> JobAsync(string id) => (await Http.GetFromJsonAsync<JsonObject>($"/jobs/{id}"))!;

    public async Task<JsonArray> MetricsAsync(string id) => (await Http.GetFromJsonAsync<JsonArray>($"/jobs/{id}/metrics"))!;

    public async Task<JsonArray> CheckpointsAsync(string id) =>
        (await Http.GetFromJsonAsync<JsonObject>($"/jobs/{id}/checkpoints"))!["checkpoints"]!.AsArray();

    /// <summary>Polls the job until <paramref name="condition"/> holds; fails with every process's output after <paramref name="timeout"/>.</summary>
    public async Task<JsonObject> WaitForJobAsync(string id, Func<JsonObject, bool> condition, string what, TimeSpan? timeout = null)
    {
        JsonObject? job = null;
        await WaitUntilAsync(async () =>
        {
            try { job = await JobAsync(id); }
            catch (HttpRequestException) { return false; } // the API may be restarting
            return condition(job);
        }, $"job {id} to be {what} (last seen: {job?.ToJsonString()})", timeout ?? JobTimeout);
        return job!;
    }

    /// <summary>Waits until the job is running in epoch 2 or later with epoch 1 recorded: a kill then lands mid-epoch, after a checkpoint.</summary>
    public async Task<JsonObject> WaitForSecondEpochAsync(string id)
    {
        JsonObject? job = null;
        await WaitUntilAsync(async () =>
        {
            job = await JobAsync(id);
            Assert.NotEqual("failed", (string)job["status"]!);
            return (string)job["status"]! == "running" && job["progress"]?["epoch"] is { } epoch && (int)epoch >= 2
                && (await MetricsAsync(id)).Count >= 1;
        }, $"job {id} to be training its second epoch (last seen: {job?.ToJsonString()})", JobTimeout);
        return job!;
    }

    /// <summary>
    /// Caps the process's address space (RLIMIT_AS, set on the running process with prlimit) at
    /// what it has mapped now plus <paramref name="headroomBytes"/>, and returns the cap. Past it,
    /// an allocation fails in the process itself — libtorch's CPU allocator answers "can't allocate
    /// memory" — where a cgroup memory limit would have the kernel's OOM killer SIGKILL the whole
    /// process instead. Measured on the running process rather than fixed at its start, the cap
    /// needs no knowledge of what the runtime and libtorch reserve (tens of GB of address space,
    /// mostly never touched, and different between the CPU and CUDA builds of libtorch).
    /// </summary>
    public static long LimitAddressSpace(ServiceProcess process, long headroomBytes)
    {
        var status = File.ReadAllLines($"/proc/{process.Id}/status");
        var mappedKiB = long.Parse(status.Single(line => line.StartsWith("VmSize:", StringComparison.Ordinal))
            .Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        var limit = mappedKiB * 1024 + headroomBytes;
        var start = new ProcessStartInfo("prlimit") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--pid", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), $"--as={limit}:{limit}" })
            start.ArgumentList.Add(argument);
        using var prlimit = Process.Start(start)!;
        var errors = prlimit.StandardError.ReadToEnd();
        prlimit.WaitForExit();
        if (prlimit.ExitCode != 0) throw new InvalidOperationException($"prlimit --pid {process.Id} --as={limit} failed ({prlimit.ExitCode}): {errors}");
        return limit;
    }

    /// <summary>
    /// The states Hangfire recorded, oldest first, for the queue entries that carry job
    /// <paramref name="id"/> (read from its tables in the rig's PostgreSQL database; the API never
    /// shows Hangfire's ids or states).
    /// </summary>
    public async Task<List<string>> HangfireStatesAsync(string id)
    {
        await using var connection = new NpgsqlConnection(Environment["Storage__PostgresConnectionString"]);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand(
            "SELECT s.name FROM hangfire.state s JOIN hangfire.job j ON j.id = s.jobid WHERE j.arguments::text LIKE @id ORDER BY s.id", connection);
        query.Parameters.AddWithValue("id", $"%{id}%");
        var states = new List<string>();
        await using var reader = await query.ExecuteReaderAsync();
        while (await reader.ReadAsync()) states.Add(reader.GetString(0));
        return states;
    }

    /// <summary>How many of Hangfire's queue entries are in <paramref name="state"/> (its current state), read from its tables.</summary>
    public async Task<long> HangfireJobsInStateAsync(string state)
    {
        await using var connection = new NpgsqlConnection(Environment["Storage__PostgresConnectionString"]);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT COUNT(*) FROM hangfire.job WHERE statename = @state", connection);
        query.Parameters.AddWithValue("state", state);
        return (long)(await query.ExecuteScalarAsync())!;
    }

    /// <summary>Every process the rig started, by the name it was given (the API is "api"), killed ones included.</summary>
    public IReadOnlyList<(string Name, ServiceProcess Process)> Processes => processes;

    /// <summary>
    /// The signal tests' job size: 200 steps of 100 images per epoch, about 15 s on the rig's one
    /// thread — long enough for a signal or a kill to land well inside an epoch.
    /// </summary>
    public const int LongEpochTrainSubset = 20_000;

    public const int LongEpochSteps = LongEpochTrainSubset / 100;

    /// <summary>
    /// The job size for tests that act in a job's second epoch: 60 steps, 3–5 s an epoch on the rig's
    /// one thread. Not the default 2,000 images: on a fast machine that epoch is over in about a
    /// second, and a kill or a freeze meant for the middle of epoch 2 would land at its end.
    /// </summary>
    public const int SecondEpochTrainSubset = 6_000;

    /// <summary>
    /// Waits until the job is running in epoch 2 with its progress between the two steps. The
    /// progress shown lags the loop by a second or two: leave room for that before the epoch's end.
    /// </summary>
    public Task<JsonObject> WaitForEpoch2StepsAsync(string id, int fromStep, int toStep) =>
        WaitForJobAsync(id, j => (string)j["status"]! == "running" && j["progress"] is { } p
            && (int)p["epoch"]! == 2 && (long)p["step"]! >= fromStep && (long)p["step"]! <= toStep,
            $"in epoch 2 between steps {fromStep} and {toStep}");

    /// <summary>
    /// Runs the same job again, uninterrupted, and asserts that <paramref name="id"/>'s per-epoch
    /// figures equal its own, bit for bit; returns the reference job.
    /// </summary>
    public async Task<(string Id, JsonObject Job, int FiguresEqual)> AssertSameMetricsAsAnUninterruptedRunAsync(string id, string referenceName, int epochs, int trainSubset) =>
        await AssertSameMetricsAsAsync(id, await SubmitAsync(referenceName, epochs, trainSubset));

    /// <summary>
    /// As <see cref="AssertSameMetricsAsAnUninterruptedRunAsync"/>, with a reference job already
    /// submitted. Returns how many per-epoch figures were compared equal, for the report.
    /// </summary>
    public async Task<(string Id, JsonObject Job, int FiguresEqual)> AssertSameMetricsAsAsync(string id, string reference)
    {
        var referenceJob = await WaitForJobAsync(reference, IsTerminal, "finished");
        Assert.Equal("succeeded", (string)referenceJob["status"]!);
        Assert.Equal(1, (int)referenceJob["attempt"]!);
        var expected = await MetricsAsync(reference);
        var actual = await MetricsAsync(id);
        var equal = 0;
        foreach (var field in new[] { "trainLoss", "trainAccuracy", "testLoss", "testAccuracy", "learningRate" })
        {
            Assert.Equal(expected.Select(m => (double)m![field]!), actual.Select(m => (double)m![field]!));
            equal += expected.Zip(actual).Count(p => (double)p.First![field]! == (double)p.Second![field]!);
        }
        return (reference, referenceJob, equal);
    }

    public static bool IsTerminal(JsonObject job) => (string)job["status"]! is "succeeded" or "failed" or "cancelled";

    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(500);
        }
        Assert.Fail($"Timed out after {timeout} waiting for {what}.\n{Diagnostics()}");
    }

    /// <summary>The end of every process's output, for failure messages.</summary>
    public string Diagnostics() => string.Join("\n", processes.Select(p =>
    {
        var text = p.Process.Output;
        return $"----- {p.Name} (exited: {p.Process.HasExited}) -----\n{(text.Length > 8000 ? "…" + text[^8000..] : text)}";
    }));

    /// <summary>
    /// Measures the jobs from their records (<see cref="FaultFigures"/>), prints the FAULT-FIGURES line
    /// docs/reliability.md's table is made from, and asserts that no job was lost and no epoch was
    /// trained twice or left unrecorded: each of <paramref name="jobs"/>' epochs 1..Epochs recorded once,
    /// by an attempt of the job, with the epoch's optimizer steps summed over its attempts.
    /// </summary>
    /// <param name="jobsEnd">False where the fault leaves a job waiting on purpose (the reaper with no worker left): then only "running" is lost.</param>
    public async Task ReportAsync(string fault, IReadOnlyList<(string Id, int Epochs)> jobs, IDictionary<string, object>? details = null, bool jobsEnd = true)
    {
        var measured = new List<FaultFigures.JobFigures>();
        foreach (var (id, epochs) in jobs)
            measured.Add(FaultFigures.Measure(await JobAsync(id), await MetricsAsync(id), epochs, jobsEnd));
        var line = FaultFigures.Line(fault, measured, details);
        output.WriteLine(line);
        Console.WriteLine(line);
        var violations = jobs.Zip(measured).SelectMany(j => j.Second.Violations.Select(v => $"job {j.First.Id}: {v}")).ToList();
        Assert.True(violations.Count == 0, "epochs trained twice, unrecorded or miscounted:\n" + string.Join("\n", violations) + "\n" + Diagnostics());
        Assert.Equal(0, measured.Count(j => j.Lost));
    }

    /// <summary>Asserts a job's epochs as <see cref="ReportAsync"/> does, before the test looks at them more closely; returns them.</summary>
    public async Task<IReadOnlyList<EpochLedger>> AssertEachEpochTrainedOnceAsync(string id, int epochs)
    {
        var job = await JobAsync(id);
        var ledger = FaultFigures.Ledger(await MetricsAsync(id));
        var violations = EpochInvariants.Violations(ledger, epochs, FaultFigures.StepsPerEpoch(job), (int)job["attempt"]!);
        Assert.True(violations.Count == 0, $"job {id}:\n" + string.Join("\n", violations));
        return ledger;
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        foreach (var (_, process) in processes) await process.DisposeAsync();
        if (Postgres is not null) await Postgres.DisposeAsync();
        foreach (var folder in temporaryFolders)
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
