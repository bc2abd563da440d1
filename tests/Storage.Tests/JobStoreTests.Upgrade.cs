using System.Text.Json;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;
using TrainingService.Storage.Migrations;

namespace TrainingService.Storage.Tests;

/// <summary>
/// Upgrading, on each engine, a database as the release before DbUp left it
/// (<c>Fixtures/release-before-dbup.*.sql</c>: that release's schema, its <c>schema_version</c> at
/// 6, and rows in every table): its versions count as applied scripts, only the newer scripts run,
/// every row reads back, and the jobs stored before normalization was a hyperparameter name their
/// architecture's default (migration 7).
/// </summary>
public abstract partial class JobStoreTests
{
    // The fixture's rows.
    private static readonly Guid OldConvNet = Guid.Parse("01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e");
    private static readonly Guid OldResNet = Guid.Parse("01950002-6c3e-7d4a-9b1e-2f3a4b5c6d7e");
    private static readonly Guid OldAttention = Guid.Parse("01950003-6c3e-7d4a-9b1e-2f3a4b5c6d7e");
    private static readonly Guid OldGroupNormConvNet = Guid.Parse("01950004-6c3e-7d4a-9b1e-2f3a4b5c6d7e");
    private static readonly Guid OldEval = Guid.Parse("01950005-6c3e-7d4a-9b1e-2f3a4b5c6d7e");
    private static readonly Guid OldUnknownArchitecture = Guid.Parse("01950006-6c3e-7d4a-9b1e-2f3a4b5c6d7e");
    private static readonly Guid OldLease = Guid.Parse("5f0c3e4a-1b2c-4d3e-8f4a-5b6c7d8e9f00");
    private static readonly Guid OldSweep = Guid.Parse("0195aaaa-6c3e-7d4a-9b1e-2f3a4b5c6d7e");

    /// <summary>The hyperparameters the fixture's jobs were stored with, as that release wrote them (no normalization).</summary>
    private static Hyperparameters OldHyperparameters(int epochs = 3, string device = "cpu") => new()
    {
        Epochs = epochs, BatchSize = 128, LearningRate = 0.002, Optimizer = OptimizerKind.Adam, WeightDecay = 0, Momentum = 0.9,
        LrSchedule = LearningRateSchedule.OneCycle, StepEpochs = 1, StepGamma = 0.1, Seed = 42, Device = device, TrainSubset = 1000,
    };

    private async Task<string> CreateReleaseBeforeDbUpAsync()
    {
        var database = await CreateDatabaseAsync();
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", $"release-before-dbup.{Dialect}.sql");
        await ExecuteSqlAsync(database, await File.ReadAllTextAsync(fixture));
        return database;
    }

    [Fact]
    public async Task Upgrading_the_release_before_DbUp_takes_its_versions_as_applied_and_runs_only_the_newer_scripts()
    {
        var database = await CreateReleaseBeforeDbUpAsync();
        Assert.Equal(["1", "2", "3", "5", "6"], await QueryColumnAsync(database, "SELECT version FROM schema_version ORDER BY version"));

        await Open(database).Database.MigrateAsync(None);

        Assert.Equal(MigrationScripts.For(Dialect).Select(s => s.Name), await AppliedScriptsAsync(database));
        Assert.Equal(await AppliedScriptsAsync(_database), await AppliedScriptsAsync(database));
        // The old journal is left as that release wrote it.
        Assert.Equal(["1", "2", "3", "5", "6"], await QueryColumnAsync(database, "SELECT version FROM schema_version ORDER BY version"));
        // Migration 3 run again would have marked this never-dispatched job dispatched (and 6 run
        // again would have failed adding sweeps.owner twice).
        Assert.Equal([OldResNet], (await Open(database).Jobs.ListUndispatchedAsync(T0.AddHours(1), 10, None)).Select(j => j.Id));
    }

    [Fact]
    public async Task Every_row_of_the_release_before_DbUp_reads_back_after_the_upgrade()
    {
        var database = await CreateReleaseBeforeDbUpAsync();
        var store = Open(database);
        await store.Database.MigrateAsync(None);

        AssertSameJob(new JobRecord
        {
            Id = OldConvNet, Kind = JobKind.Train, Architecture = "convnet", Status = JobStatus.Succeeded, Name = "legacy convnet",
            Tags = ["legacy", "study"], Hyperparameters = OldHyperparameters() with { Normalization = NormalizationKind.None },
            IdempotencyKey = "fixture-key-1", Queue = "cpu",
            CreatedAt = T0, StartedAt = T0.AddSeconds(1), FinishedAt = T0.AddSeconds(30), Attempt = 1, Worker = "worker-a", Device = "cpu",
            HeartbeatAt = T0.AddSeconds(29), Progress = new JobProgress(3, 3, 8, 8, 5000.25, 0, 0.05, 0.98, T0.AddSeconds(30)),
            Result = new JobResult(0.9861, 0.0452, 0.9874, 0.0411, 2, null, null), Owner = "alice",
            // Migration 8 says why the jobs that had ended did, from their status and error.
            TerminationReason = TerminationReason.Succeeded,
        }, (await store.Jobs.GetAsync(OldConvNet, None))!);
        var eval = (await store.Jobs.GetAsync(OldEval, None))!;
        Assert.Equal((new EvalSource(OldConvNet, "best"), JobErrorKind.User), (eval.Source, eval.Error!.Kind));
        Assert.Equal(TerminationReason.UserError, eval.TerminationReason);
        var unknown = (await store.Jobs.GetAsync(OldUnknownArchitecture, None))!;
        Assert.Equal((JobStatus.Cancelled, true), (unknown.Status, unknown.CancelRequested));
        Assert.Equal([OldAttention, OldConvNet], (await store.Jobs.ListAsync(new JobQuery(Tag: "legacy"), None)).Select(j => j.Id));

        var epochs = await store.Epochs.GetEpochsAsync(OldConvNet, 0, None);
        Assert.Equal([1, 2], epochs.Select(e => e.Metrics.Epoch));
        Assert.Equal((0.31, 0.962, T0.AddSeconds(10)), (epochs[0].Metrics.TrainLoss, epochs[0].Metrics.TestAccuracy, epochs[0].RecordedAt));
        Assert.True(double.IsNaN(epochs[1].Metrics.TestLoss));
        var checkpoint = Assert.Single(await store.Checkpoints.GetCheckpointsAsync(OldConvNet, None));
        Assert.Equal((2, 1562024L, 0.9874), (checkpoint.Epoch, checkpoint.SizeBytes, checkpoint.Metrics!.TestAccuracy));

        var logs = await store.Logs.GetLogsAsync(OldConvNet, 0, 10, None);
        Assert.Equal(["Job started", "Slow epoch", "Job succeeded"], logs.Select(l => l.Message));
        Assert.Equal("""{"Attempt":1}""", logs[0].PropertiesJson);
        var worker = Assert.Single(await store.Workers.ListWorkersAsync(T0, None));
        Assert.Equal(("worker-a", OldAttention, T0.AddSeconds(25)), (worker.Id, worker.RunningJobId, worker.LastHeartbeat));
        Assert.Equal(["cpu", "default"], worker.Queues);

        var keys = store.Keys;
        Assert.Equal(("alice", false, false), (await keys.FindApiKeyAsync(new string('a', 64), None)) is { } alice ? (alice.Name, alice.IsAdmin, alice.IsRevoked) : default);
        Assert.Equal(T0.AddSeconds(-30), (await keys.ListApiKeysAsync(None)).Single(k => k.IsAdmin).RevokedAt);

        var sweep = (await store.Sweeps.GetSweepAsync(OldSweep, None))!;
        Assert.Equal(("seeds", "alice", 2), (sweep.Name, sweep.Owner, sweep.Points.Count));
        Assert.Equal([(0, OldGroupNormConvNet)], (await store.Sweeps.GetSweepJobsAsync(OldSweep, None)).Select(j => (j.Point, j.Job.Id)));
        Assert.Equal([OldSweep], (await store.Sweeps.ListOpenSweepsAsync(None)).Select(s => s.Id));
        Assert.Equal(NormalizationKind.Group, (await store.Jobs.GetAsync(OldGroupNormConvNet, None))!.Hyperparameters.Normalization);
    }

    [Fact]
    public async Task The_upgrade_names_the_normalization_of_each_job_stored_without_one_by_its_architecture()
    {
        var database = await CreateReleaseBeforeDbUpAsync();
        var store = Open(database);
        await store.Database.MigrateAsync(None);

        async Task<NormalizationKind?> NormalizationOf(Guid id) => (await store.Jobs.GetAsync(id, None))!.Hyperparameters.Normalization;
        Assert.Equal(NormalizationKind.None, await NormalizationOf(OldConvNet));
        Assert.Equal(NormalizationKind.Batch, await NormalizationOf(OldResNet));
        Assert.Equal(NormalizationKind.Layer, await NormalizationOf(OldAttention));
        Assert.Equal(NormalizationKind.None, await NormalizationOf(OldEval));
        // One that named its own keeps it; one of an architecture this service lacks is left as it was.
        Assert.Equal(NormalizationKind.Group, await NormalizationOf(OldGroupNormConvNet));
        Assert.Null(await NormalizationOf(OldUnknownArchitecture));
        // Nothing else in the hyperparameters changed.
        Assert.Equal(OldHyperparameters(epochs: 2, device: "auto") with { Normalization = NormalizationKind.Batch },
            (await store.Jobs.GetAsync(OldResNet, None))!.Hyperparameters);
    }

    [Fact]
    public async Task The_normalization_migration_also_names_it_where_a_job_stored_it_as_null()
    {
        // Jobs written with "normalization": null (a record that named none), on a database just before migration 7.
        var database = await CreateDatabaseAsync();
        var old = Open(database);
        await old.Database.MigrateAsync(throughVersion: 6, None);
        var jobs = new Dictionary<string, Guid>();
        foreach (var architecture in new[] { "convnet", "resnet18", "attention", "mlp" })
            jobs[architecture] = await InsertAsOldReleaseAsync(old.Database, NewJob(architecture: architecture));
        Assert.All(await QueryColumnAsync(database, "SELECT hyperparameters FROM jobs"),
            json => Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(json!).RootElement.GetProperty("normalization").ValueKind));

        await old.Database.MigrateAsync(None);

        var named = new Dictionary<string, NormalizationKind?>();
        foreach (var (architecture, id) in jobs)
            named[architecture] = (await old.Jobs.GetAsync(id, None))!.Hyperparameters.Normalization;
        Assert.Equal(new Dictionary<string, NormalizationKind?>
        {
            ["convnet"] = NormalizationKind.None, ["resnet18"] = NormalizationKind.Batch, ["attention"] = NormalizationKind.Layer, ["mlp"] = null,
        }, named);
    }

    [Fact]
    public async Task After_the_upgrade_the_old_rows_take_writes_as_new_ones_do()
    {
        var database = await CreateReleaseBeforeDbUpAsync();
        var store = Open(database);
        await store.Database.MigrateAsync(None);

        // The running job's lease still fences its writes.
        Assert.True(await store.Jobs.HeartbeatAsync(OldAttention, OldLease, T0.AddMinutes(1), None));
        Assert.False(await store.Jobs.HeartbeatAsync(OldAttention, Guid.NewGuid(), T0.AddMinutes(1), None));
        Assert.Equal(EpochWrite.Recorded, await store.Epochs.RecordEpochAsync(OldAttention, OldLease, Metrics(1), Trained, T0.AddMinutes(1), None));
        // The queued one starts; the idempotency key still finds its job; the owner's count sees the old jobs.
        Assert.Equal(1, (await store.Jobs.TryStartAttemptAsync(OldResNet, Guid.NewGuid(), "w", "cpu", T0.AddMinutes(1), T0, None))!.Attempt);
        var (again, created) = await store.Jobs.CreateAsync(NewJob(idempotencyKey: "fixture-key-1"), None);
        Assert.Equal((OldConvNet, false), (again.Id, created));
        Assert.Equal(2, await store.Jobs.CountUnfinishedJobsAsync("alice", None));
        // Log sequences go on after the old ones.
        await store.Logs.AppendLogsAsync([new JobLogRecord(0, OldConvNet, T0.AddMinutes(1), "Information", "after the upgrade", null)], None);
        Assert.Equal([4L], (await store.Logs.GetLogsAsync(OldConvNet, 3, 10, None)).Select(l => l.Sequence));
    }

    [Fact]
    public async Task Concurrent_upgrades_of_a_release_before_DbUp_apply_each_script_once()
    {
        var database = await CreateReleaseBeforeDbUpAsync();
        var stores = Enumerable.Range(0, 3).Select(_ => Open(database)).ToList();

        await Task.WhenAll(stores.Select(s => Task.Run(() => s.Database.MigrateAsync(None))));

        Assert.Equal(MigrationScripts.For(Dialect).Select(s => s.Name), await AppliedScriptsAsync(database));
        Assert.Equal([OldResNet], (await stores[1].Jobs.ListUndispatchedAsync(T0.AddHours(1), 10, None)).Select(j => j.Id));
    }
}
