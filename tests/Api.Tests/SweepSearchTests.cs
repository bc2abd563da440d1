using System.Net;
using System.Text.Json.Nodes;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Tests;

/// <summary>
/// Search beyond the grid, through the real pipeline: random sweeps drawn reproducibly from a space
/// validated field by field, and early stopping (ASHA, the median rule) judging the trials' epochs as
/// a worker records them, stopping the lagging ones as stopped by the search, and showing each
/// trial's rung history, why it stopped, the best trial's settings and the epochs spent.
/// </summary>
public abstract partial class ApiContractTests
{
    private const string SearchBase = """{ "architecture": "convnet", "hyperparameters": { "epochs": 4, "trainSubset": 1000 } }""";

    private static string RandomBody(string space, int trials = 4, string extra = "") =>
        $$"""{ "name": "search", "method": "random", "base": {{SearchBase}}, "space": {{space}}, "trials": {{trials}}{{extra}} }""";

    [Theory]
    [InlineData("""{ "learningRate": { "logUniform": [0, 0.1] } }""", "", "space.learningRate.logUniform[0]")]
    [InlineData("""{ "learningRate": { "uniform": [0.001, 20] } }""", "", "space.learningRate.uniform[1]")]
    [InlineData("""{ "learningRate": { "uniform": [0.01, 0.001] } }""", "", "space.learningRate.uniform")]
    [InlineData("""{ "learningRate": { "uniform": ["a", 0.1] } }""", "", "space.learningRate.uniform[0]")]
    [InlineData("""{ "learningRate": { "normal": [0, 1] } }""", "", "space.learningRate.normal")]
    [InlineData("""{ "learningRate": { "uniform": [0.001, 0.01], "choice": [0.1] } }""", "", "space.learningRate")]
    [InlineData("""{ "batchSize": { "logUniform": [16, 256] } }""", "", "space.batchSize.logUniform")]
    [InlineData("""{ "batchSize": { "intRange": [1.5, 256] } }""", "", "space.batchSize.intRange[0]")]
    [InlineData("""{ "batchSize": { "choice": [32, 0] } }""", "", "space.batchSize.choice[1]")]
    [InlineData("""{ "batchSize": { "choice": [] } }""", "", "space.batchSize.choice")]
    [InlineData("""{ "learningRate": { "intRange": [1, 3] } }""", "", "space.learningRate.intRange")]
    [InlineData("""{ "architecture": { "uniform": [0, 1] } }""", "", "space.architecture.uniform")]
    [InlineData("""{ "colour": { "choice": [1] } }""", "", "space.colour")]
    [InlineData("""{}""", "", "space")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "grid": { "seed": [1] }""", "grid")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "seed": -1""", "seed")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "earlyStopping": { "metric": "testAccuracy" }""", "earlyStopping.rule")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "earlyStopping": { "rule": "hyperband" }""", "earlyStopping.rule")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "earlyStopping": { "rule": "asha", "reductionFactor": 1 }""", "earlyStopping.reductionFactor")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "earlyStopping": { "rule": "median", "reductionFactor": 3 }""", "earlyStopping.reductionFactor")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "earlyStopping": { "rule": "asha", "minTrials": 3 }""", "earlyStopping.minTrials")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "earlyStopping": { "rule": "asha", "metric": "f1" }""", "earlyStopping.metric")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "earlyStopping": { "rule": "asha", "gracePeriod": 4 }""", "earlyStopping.gracePeriod")]
    [InlineData("""{ "seed": { "choice": [1] } }""", """, "earlyStopping": { "rule": "asha", "eta": 4 }""", "earlyStopping.eta")]
    public async Task A_bad_random_sweep_is_a_400_naming_the_field_and_stores_nothing(string space, string extra, string field)
    {
        var sweepsBefore = await CountSweepsAsync();
        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/sweeps", RandomBody(space, extra: extra)));

        var errors = await response.AssertValidationProblemAsync();
        Assert.Contains(field, errors.Keys);
        Assert.Equal(sweepsBefore, await CountSweepsAsync());
    }

    [Theory]
    [InlineData("""{ "name": "s", "method": "random", "base": { "architecture": "convnet" }, "space": { "seed": { "choice": [1] } } }""", "trials")]
    [InlineData("""{ "name": "s", "method": "random", "base": { "architecture": "convnet" }, "space": { "seed": { "choice": [1] } }, "trials": 257 }""", "trials")]
    [InlineData("""{ "name": "s", "method": "bayes", "base": { "architecture": "convnet" }, "grid": { "seed": [1] } }""", "method")]
    [InlineData("""{ "name": "s", "base": { "architecture": "convnet" }, "grid": { "seed": [1] }, "space": { "seed": { "choice": [1] } } }""", "space")]
    [InlineData("""{ "name": "s", "base": { "architecture": "convnet" }, "grid": { "seed": [1] }, "trials": 3 }""", "trials")]
    public async Task A_sweep_mixing_up_its_method_is_a_400_naming_the_field(string body, string field)
    {
        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/sweeps", body));
        Assert.Contains(field, (await response.AssertValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_random_sweep_draws_the_same_trials_from_the_same_seed_within_its_space()
    {
        const string space = """
            { "learningRate": { "logUniform": [0.0001, 0.01] }, "weightDecay": { "uniform": [0, 0.1] },
              "batchSize": { "intRange": [16, 256] }, "optimizer": { "choice": ["adam", "sgd"] } }
            """;
        var first = await (await Client.PostJsonAsync("/sweeps", RandomBody(space, trials: 8, extra: """, "seed": 5, "maxConcurrent": 1"""))).ReadJsonAsync();
        var again = await (await Client.PostJsonAsync("/sweeps", RandomBody(space, trials: 8, extra: """, "seed": 5, "maxConcurrent": 1"""))).ReadJsonAsync();
        var other = await (await Client.PostJsonAsync("/sweeps", RandomBody(space, trials: 8, extra: """, "seed": 6, "maxConcurrent": 1"""))).ReadJsonAsync();
        var unseeded = await (await Client.PostJsonAsync("/sweeps", RandomBody(space, trials: 1))).ReadJsonAsync();

        static string Values(JsonNode sweep) => string.Join(" | ", sweep["points"]!.AsArray().Select(p => p!["values"]!.ToJsonString()));
        Assert.Equal("random", first["method"]!.GetValue<string>());
        Assert.Equal(5, first["seed"]!.GetValue<int>());
        Assert.Equal(Values(first), Values(again));
        Assert.NotEqual(Values(first), Values(other));
        Assert.NotNull(unseeded["seed"]); // the service picked one, and shows it so the sweep can be drawn again
        Assert.Equal(["learningRate", "weightDecay", "batchSize", "optimizer"], first["space"]!.AsArray().Select(d => d!["name"]!.GetValue<string>()));
        Assert.Equal("logUniform", first["space"]![0]!["distribution"]!.GetValue<string>());
        Assert.Empty(first["grid"]!.AsArray());

        foreach (var point in first["points"]!.AsArray())
        {
            var values = point!["values"]!;
            Assert.InRange(values["learningRate"]!.GetValue<double>(), 0.0001, 0.01);
            Assert.InRange(values["weightDecay"]!.GetValue<double>(), 0, 0.1);
            Assert.InRange(values["batchSize"]!.GetValue<int>(), 16, 256);
            Assert.Contains(values["optimizer"]!.GetValue<string>(), new[] { "adam", "sgd" });
        }
        // The first trial's job trains with exactly its drawn values.
        var job = await GetJobAsync(Guid.Parse(first["points"]![0]!["jobId"]!.GetValue<string>()));
        var drawn = first["points"]![0]!["values"]!;
        Assert.Equal(drawn["learningRate"]!.GetValue<double>(), job["hyperparameters"]!["learningRate"]!.GetValue<double>());
        Assert.Equal(drawn["batchSize"]!.GetValue<int>(), job["hyperparameters"]!["batchSize"]!.GetValue<int>());
        Assert.Equal(4, job["hyperparameters"]!["epochs"]!.GetValue<int>());
    }

    [Fact]
    public async Task ASHA_stops_the_trials_below_the_rungs_cutoff_as_stopped_by_the_search_and_the_sweep_still_succeeds()
    {
        var created = await (await Client.PostJsonAsync("/sweeps", RandomBody("""{ "learningRate": { "logUniform": [0.0001, 0.01] } }""", trials: 5,
            extra: """, "seed": 11, "maxConcurrent": 4, "earlyStopping": { "rule": "asha" }"""))).ReadJsonAsync();
        var id = created["id"]!.GetValue<string>();
        Assert.Equal("""{"rule":"asha","metric":"testAccuracy","gracePeriod":1,"reductionFactor":3,"minTrials":null}""", created["earlyStopping"]!.ToJsonString());
        var jobs = new Guid[5];
        var leases = new Guid[5];
        for (var trial = 0; trial < 4; trial++)
            (jobs[trial], leases[trial]) = await StartTrialAsync(id, trial);
        Assert.Null(created["points"]![4]!["jobId"]); // four at a time

        // Rung 1 (epochs 4, r = 1, η = 3: rungs 1 and 3), reached one trial at a time.
        await RecordAndAwaitRungAsync(id, 0, jobs[0], leases[0], 1, 0.90, rungs: 1); // the first at a rung continues
        await RecordAndAwaitRungAsync(id, 1, jobs[1], leases[1], 1, 0.95, rungs: 1); // cutoff 0.90
        var stopped = await RecordAndAwaitRungAsync(id, 2, jobs[2], leases[2], 1, 0.85, rungs: 1); // cutoff: the 2/3 quantile of [0.90, 0.95]
        var rung = stopped["rungs"]![0]!;
        Assert.Equal("stop", rung["decision"]!.GetValue<string>());
        Assert.Equal(0.90 + 2.0 / 3 * 0.05, rung["cutoff"]!.GetValue<double>(), 9);
        Assert.Equal(2, rung["compared"]!.GetValue<int>());
        Assert.Equal("cancelling", (await GetJobAsync(jobs[2]))["status"]!.GetValue<string>());
        var kept = await RecordAndAwaitRungAsync(id, 3, jobs[3], leases[3], 1, 0.99, rungs: 1); // cutoff 0.9167: continues
        Assert.Equal("continue", kept["rungs"]![0]!["decision"]!.GetValue<string>());

        // Its worker stops it at a step boundary and ends the attempt as for any cancel; the slot it frees goes to trial 4.
        await Driver.FinishAsync(jobs[2], leases[2], JobStatus.Cancelled);
        (jobs[4], leases[4]) = await StartTrialAsync(id, 4);
        var trial2 = await GetJobAsync(jobs[2]);
        Assert.Equal(("cancelled", "stopped-by-search"), (trial2["status"]!.GetValue<string>(), trial2["terminationReason"]!.GetValue<string>()));

        // Rung 3: the first there continues, then 0.97 against [0.95] and 0.992 against [0.95, 0.97] continue.
        foreach (var (trial, at2, at3) in new[] { (0, 0.93, 0.95), (1, 0.96, 0.97), (3, 0.99, 0.992) })
        {
            Assert.Equal(EpochWrite.Recorded, await Factory.Epochs.RecordEpochAsync(jobs[trial], leases[trial], Metrics(2, at2), JobDriver.Trained, DateTimeOffset.UtcNow, CancellationToken.None));
            await RecordAndAwaitRungAsync(id, trial, jobs[trial], leases[trial], 3, at3, rungs: 2);
        }
        // Trial 4 at rung 1, against all four values there: [0.85, 0.90, 0.95, 0.99] → cutoff 0.95.
        var late = await RecordAndAwaitRungAsync(id, 4, jobs[4], leases[4], 1, 0.5, rungs: 1);
        Assert.Equal((0.95, 4), (late["rungs"]![0]!["cutoff"]!.GetValue<double>(), late["rungs"]![0]!["compared"]!.GetValue<int>()));
        await Driver.FinishAsync(jobs[4], leases[4], JobStatus.Cancelled);
        foreach (var (trial, final) in new[] { (0, 0.96), (1, 0.975), (3, 0.993) })
        {
            Assert.Equal(EpochWrite.Recorded, await Factory.Epochs.RecordEpochAsync(jobs[trial], leases[trial], Metrics(4, final), JobDriver.Trained, DateTimeOffset.UtcNow, CancellationToken.None));
            await Driver.FinishAsync(jobs[trial], leases[trial], JobStatus.Succeeded, new JobResult(final, 0.05, final, 0.05, 4, null, null));
        }

        // Two trials stopped by the search are not failures: the sweep succeeded.
        var done = await WaitForSweepAsync(id, "succeeded");
        var points = done["points"]!.AsArray();
        var two = points[2]!;
        Assert.Equal("stopped-by-search", two["terminationReason"]!.GetValue<string>());
        Assert.Equal(1, two["stoppedAtEpoch"]!.GetValue<int>());
        Assert.Equal("asha: testAccuracy 0.85 at epoch 1 was below 0.9333, the 66.7 % quantile of the 2 values recorded at that rung before it (η = 3).",
            two["stopReason"]!.GetValue<string>());
        Assert.Equal(0.85, two["bestTestAccuracy"]!.GetValue<double>());
        Assert.Equal([1], two["curve"]!.AsArray().Select(c => c!["epoch"]!.GetValue<int>()));
        Assert.Null(points[0]!["stopReason"]);
        Assert.Equal(["continue", "continue"], points[3]!["rungs"]!.AsArray().Select(r => r!["decision"]!.GetValue<string>()));
        Assert.Equal(4 + 4 + 1 + 4 + 1, done["epochsSpent"]!.GetValue<double>());

        // The best trial, with every setting it trained with.
        var best = done["best"]!;
        Assert.Equal((3, 0.993, 4), (best["point"]!.GetValue<int>(), best["bestTestAccuracy"]!.GetValue<double>(), best["bestEpoch"]!.GetValue<int>()));
        Assert.Equal(points[3]!["values"]!["learningRate"]!.GetValue<double>(), best["hyperparameters"]!["learningRate"]!.GetValue<double>());
        Assert.Equal(1000, best["hyperparameters"]!["trainSubset"]!.GetValue<int>());
        Assert.Equal(5, done["comparison"]!.AsArray().Count);
        Assert.Equal(2, done["comparison"]!.AsArray().Sum(r => r!["stopped"]!.GetValue<int>()));
    }

    [Fact]
    public async Task The_median_rule_stops_a_trial_below_the_median_of_the_others_once_enough_have_reached_the_epoch()
    {
        var created = await (await Client.PostJsonAsync("/sweeps", $$"""
            { "name": "median", "base": {{SearchBase}}, "grid": { "learningRate": [0.001, 0.002, 0.003, 0.004] }, "maxConcurrent": 4,
              "earlyStopping": { "rule": "median", "metric": "testLoss", "minTrials": 2 } }
            """)).ReadJsonAsync();
        var id = created["id"]!.GetValue<string>();
        var trials = new List<(Guid Job, Guid Lease)>();
        for (var trial = 0; trial < 4; trial++)
            trials.Add(await StartTrialAsync(id, trial));

        // Losses, lower is better: too few others for the first two; a tie with the median continues; above it stops.
        double[] losses = [0.10, 0.20, 0.15, 0.30];
        for (var trial = 0; trial < 4; trial++)
            await RecordAndAwaitRungAsync(id, trial, trials[trial].Job, trials[trial].Lease, 1, 0.9, rungs: 1, loss: losses[trial]);
        var sweep = await (await Client.GetAsync($"/sweeps/{id}")).ReadJsonAsync();
        var rungs = sweep["points"]!.AsArray().Select(p => p!["rungs"]![0]!).ToList();
        Assert.Equal(["continue", "continue", "continue", "stop"], rungs.Select(r => r["decision"]!.GetValue<string>()));
        Assert.Equal([0, 1, 2, 3], rungs.Select(r => r["compared"]!.GetValue<int>()));
        Assert.Null(rungs[1]["cutoff"]);
        Assert.Equal(0.15, rungs[2]["cutoff"]!.GetValue<double>(), 9);
        Assert.Equal(0.15, rungs[3]["cutoff"]!.GetValue<double>(), 9);
        Assert.Equal("cancelling", (await GetJobAsync(trials[3].Job))["status"]!.GetValue<string>());
        await Driver.FinishAsync(trials[3].Job, trials[3].Lease, JobStatus.Cancelled);
        var stopped = (await (await Client.GetAsync($"/sweeps/{id}")).ReadJsonAsync())["points"]![3]!;
        Assert.Equal("median: testLoss 0.3 at epoch 1 was above 0.15, the median of the 3 other trials' values at that epoch.", stopped["stopReason"]!.GetValue<string>());
        Assert.Equal(("median", "testLoss", 2), (sweep["earlyStopping"]!["rule"]!.GetValue<string>(), sweep["earlyStopping"]!["metric"]!.GetValue<string>(), sweep["earlyStopping"]!["minTrials"]!.GetValue<int>()));
    }

    private static EpochMetrics Metrics(int epoch, double accuracy, double loss = 0.1) =>
        new(epoch, loss, accuracy, loss, accuracy, 0.001, 10, 2000);

    /// <summary>Waits for the trial's job and starts it as a worker would.</summary>
    private async Task<(Guid Job, Guid Lease)> StartTrialAsync(string sweepId, int trial)
    {
        var job = await WaitForPointJobAsync(sweepId, trial);
        return (job, await Driver.StartAsync(job));
    }

    /// <summary>Records the trial's epoch, then waits for the sweep's scheduler to have judged it (the trial's rungs reach <paramref name="rungs"/>).</summary>
    private async Task<JsonNode> RecordAndAwaitRungAsync(string sweepId, int trial, Guid job, Guid lease, int epoch, double accuracy, int rungs, double loss = 0.1)
    {
        Assert.Equal(EpochWrite.Recorded, await Factory.Epochs.RecordEpochAsync(job, lease, Metrics(epoch, accuracy, loss), JobDriver.Trained, DateTimeOffset.UtcNow, CancellationToken.None));
        var deadline = DateTime.UtcNow + SchedulerWait;
        while (true)
        {
            var point = (await (await Client.GetAsync($"/sweeps/{sweepId}")).ReadJsonAsync())["points"]![trial]!;
            if (point["rungs"]!.AsArray().Count >= rungs)
                return point;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Trial {trial} of sweep {sweepId} was not judged at epoch {epoch} within {SchedulerWait}.");
            await Task.Delay(50);
        }
    }
}
