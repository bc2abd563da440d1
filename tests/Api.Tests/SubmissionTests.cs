using System.Net;
using System.Net.Http.Headers;
using System.Text;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    [Fact]
    public async Task Submitting_a_training_job_answers_202_with_location_and_the_effective_defaults()
    {
        var queuedBefore = EnqueuedCount();
        var response = await Client.PostJsonAsync("/jobs", """{ "kind": "train", "architecture": "convnet", "name": "baseline", "tags": ["a", "b", "a"] }""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.ReadJsonAsync();
        var id = Guid.Parse(job["id"]!.GetValue<string>());
        Assert.Equal($"/jobs/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("train", job["kind"]!.GetValue<string>());
        Assert.Equal("convnet", job["architecture"]!.GetValue<string>());
        Assert.Equal("queued", job["status"]!.GetValue<string>());
        Assert.Equal("baseline", job["name"]!.GetValue<string>());
        Assert.Equal(["a", "b"], job["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(0, job["attempt"]!.GetValue<int>());
        Assert.Null(job["result"]);
        Assert.Null(job["error"]);
        Assert.EndsWith("Z", job["createdAt"]!.GetValue<string>());

        var defaults = ArchitectureCatalog.ConvNet.Defaults;
        var h = job["hyperparameters"]!;
        Assert.Equal(defaults.Epochs, h["epochs"]!.GetValue<int>());
        Assert.Equal(defaults.BatchSize, h["batchSize"]!.GetValue<int>());
        Assert.Equal(defaults.LearningRate, h["learningRate"]!.GetValue<double>());
        Assert.Equal("adam", h["optimizer"]!.GetValue<string>());
        Assert.Equal("onecycle", h["lrSchedule"]!.GetValue<string>());
        Assert.Equal(defaults.Seed, h["seed"]!.GetValue<long>());
        Assert.Equal("auto", h["device"]!.GetValue<string>());
        Assert.Null(h["trainSubset"]);

        // Stored as answered, sent to the queue that matches its device, and no storage fields leak.
        var stored = await Factory.Store.GetAsync(id, CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(defaults, stored.Hyperparameters);
        Assert.Equal("default", stored.Queue);
        Assert.Equal(queuedBefore + 1, EnqueuedCount());
        Assert.Null(job["leaseToken"]);
        Assert.Null(job["queue"]);
        Assert.Null(job["idempotencyKey"]);
        Assert.Equal(job.ToJsonString(), (await GetJobAsync(id)).ToJsonString());
    }

    [Fact]
    public async Task Submitted_hyperparameters_override_only_the_fields_given_and_pick_the_queue_by_device()
    {
        var response = await Client.PostJsonAsync("/jobs",
            """{ "kind": "train", "architecture": "attention", "hyperparameters": { "epochs": 4, "optimizer": "SGD", "device": "cpu", "trainSubset": 1000, "learningRate": 0.05 } }""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var h = (await response.ReadJsonAsync())["hyperparameters"]!;
        Assert.Equal(4, h["epochs"]!.GetValue<int>());
        Assert.Equal("sgd", h["optimizer"]!.GetValue<string>());
        Assert.Equal("cpu", h["device"]!.GetValue<string>());
        Assert.Equal(1000, h["trainSubset"]!.GetValue<int>());
        Assert.Equal(0.05, h["learningRate"]!.GetValue<double>());
        // Not given: the attention architecture's own defaults, not the global ones.
        Assert.Equal(ArchitectureCatalog.Attention.Defaults.WeightDecay, h["weightDecay"]!.GetValue<double>());
        Assert.Equal(ArchitectureCatalog.Attention.Defaults.BatchSize, h["batchSize"]!.GetValue<int>());

        var cpuJob = await Factory.Store.GetAsync(Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>()), CancellationToken.None);
        Assert.Equal("cpu", cpuJob!.Queue);
        var gpuId = await CreateTrainJobAsync(TrainBody(hyperparameters: """{ "device": "cuda:1" }"""));
        Assert.Equal("gpu", (await Factory.Store.GetAsync(gpuId, CancellationToken.None))!.Queue);
    }

    public static TheoryData<string, string, string[]> BadBodies => new()
    {
        { "unknown architecture", """{ "kind": "train", "architecture": "vgg16" }""", ["architecture"] },
        { "missing architecture", """{ "kind": "train" }""", ["architecture"] },
        { "unknown kind", """{ "kind": "finetune", "architecture": "convnet" }""", ["kind"] },
        { "missing kind", """{ "architecture": "convnet" }""", ["kind"] },
        { "zero epochs", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 0 } }""", ["hyperparameters.epochs"] },
        { "negative epochs", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": -3 } }""", ["hyperparameters.epochs"] },
        { "too many epochs", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 1001 } }""", ["hyperparameters.epochs"] },
        { "zero batch", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "batchSize": 0 } }""", ["hyperparameters.batchSize"] },
        { "huge batch", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "batchSize": 65537 } }""", ["hyperparameters.batchSize"] },
        { "NaN learning rate", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "learningRate": "NaN" } }""", ["hyperparameters.learningRate"] },
        { "infinite learning rate", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "learningRate": "Infinity" } }""", ["hyperparameters.learningRate"] },
        { "zero learning rate", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "learningRate": 0 } }""", ["hyperparameters.learningRate"] },
        { "negative learning rate", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "learningRate": -0.01 } }""", ["hyperparameters.learningRate"] },
        { "unknown optimizer", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "optimizer": "rmsprop" } }""", ["hyperparameters.optimizer"] },
        { "numeric optimizer name", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "optimizer": "1" } }""", ["hyperparameters.optimizer"] },
        { "unknown schedule", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "lrSchedule": "exponential" } }""", ["hyperparameters.lrSchedule"] },
        { "bad device", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "device": "tpu" } }""", ["hyperparameters.device"] },
        { "every field wrong at once", """{ "kind": "train", "architecture": "vgg16", "hyperparameters": { "epochs": 0, "learningRate": "NaN", "optimizer": "rmsprop" } }""",
            ["architecture", "hyperparameters.epochs", "hyperparameters.learningRate", "hyperparameters.optimizer"] },
        { "unknown top-level fields", """{ "kind": "train", "architecture": "convnet", "epochs": 3, "priority": 1 }""", ["epochs", "priority"] },
        { "unknown nested field", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epoch": 3 } }""", ["hyperparameters.epoch"] },
        { "wrong case field", """{ "Kind": "train", "architecture": "convnet" }""", ["Kind"] },
        { "repeated field", """{ "kind": "train", "kind": "eval", "architecture": "convnet" }""", ["kind"] },
        { "number as string", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": "3" } }""", ["hyperparameters.epochs"] },
        { "fractional epochs", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 2.5 } }""", ["hyperparameters.epochs"] },
        { "architecture as number", """{ "kind": "train", "architecture": 18 }""", ["architecture"] },
        { "tags as string", """{ "kind": "train", "architecture": "convnet", "tags": "x" }""", ["tags"] },
        { "blank tag", """{ "kind": "train", "architecture": "convnet", "tags": ["ok", " "] }""", ["tags[1]"] },
        { "hyperparameters as array", """{ "kind": "train", "architecture": "convnet", "hyperparameters": [] }""", ["hyperparameters"] },
        { "blank name", """{ "kind": "train", "architecture": "convnet", "name": "" }""", ["name"] },
        { "source on a training job", """{ "kind": "train", "architecture": "convnet", "source": { "jobId": "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e" } }""", ["source"] },
        { "malformed JSON", """{ "kind": "train", "architecture": """, ["body"] },
        { "trailing comma", """{ "kind": "train", "architecture": "convnet", }""", ["body"] },
        { "JSON array", """[]""", ["body"] },
        { "JSON string", "\"train\"", ["body"] },
        { "empty body", "", ["body"] },
        { "eval without source", """{ "kind": "eval" }""", ["source"] },
        { "eval of a missing job", """{ "kind": "eval", "source": { "jobId": "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e", "checkpoint": "final" } }""", ["source.jobId"] },
        { "eval without source job id", """{ "kind": "eval", "source": { "checkpoint": "best" } }""", ["source.jobId"] },
        { "eval with a malformed job id", """{ "kind": "eval", "source": { "jobId": "42" } }""", ["source.jobId"] },
        { "eval with a bad checkpoint", """{ "kind": "eval", "source": { "jobId": "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e", "checkpoint": "latest" } }""", ["source.checkpoint", "source.jobId"] },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_submissions_get_400_naming_each_offending_field_and_store_nothing(string because, string body, string[] fields)
    {
        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", body));

        var errors = await response.AssertValidationProblemAsync();
        Assert.True(fields.Order().SequenceEqual(errors.Keys.Order()),
            $"{because}: expected errors for [{string.Join(", ", fields)}], got [{string.Join(", ", errors.Keys)}]");
        Assert.All(errors.Values, messages => Assert.All(messages, m => Assert.False(string.IsNullOrWhiteSpace(m))));
    }

    [Fact]
    public async Task An_unknown_field_error_lists_the_fields_that_exist()
    {
        var errors = await (await Client.PostJsonAsync("/jobs", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "lr": 0.1 } }"""))
            .AssertValidationProblemAsync();
        Assert.Contains("learningRate", Assert.Single(errors["hyperparameters.lr"]));
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_and_stores_nothing()
    {
        var big = $$"""{ "kind": "train", "architecture": "convnet", "name": "{{new string('x', 70 * 1024)}}" }""";
        var whole = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", big));
        await whole.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        // Without a Content-Length (chunked), the limit holds on what is actually read.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var response = await AssertNothingStoredAsync(() => Client.SendAsync(request));
        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=latin1")]
    [InlineData(null)]
    public async Task A_body_that_is_not_json_gets_415_and_stores_nothing(string? contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(TrainBody()));
        if (contentType is not null)
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await AssertNothingStoredAsync(() => Client.PostAsync("/jobs", content));
        var problem = await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_json_body_with_a_json_suffix_type_is_accepted()
    {
        var content = new StringContent(TrainBody(), Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.trainingservice+json; charset=utf-8");
        Assert.Equal(HttpStatusCode.Accepted, (await Client.PostAsync("/jobs", content)).StatusCode);
    }

    [Fact]
    public async Task A_repeated_request_with_the_same_idempotency_key_returns_the_same_job_and_stores_one()
    {
        var key = Guid.NewGuid().ToString();
        var before = await CountJobsAsync();
        var queuedBefore = EnqueuedCount();

        var first = await Client.PostJsonAsync("/jobs", TrainBody(), key);
        var second = await Client.PostJsonAsync("/jobs", TrainBody(), key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var firstJob = await first.ReadJsonAsync();
        Assert.Equal(firstJob.ToJsonString(), (await second.ReadJsonAsync()).ToJsonString());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal(before + 1, await CountJobsAsync());
        Assert.Equal(queuedBefore + 1, EnqueuedCount());
    }

    [Fact]
    public async Task Reusing_an_idempotency_key_for_a_different_request_gets_409_and_stores_nothing()
    {
        var key = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.Accepted, (await Client.PostJsonAsync("/jobs", TrainBody(), key)).StatusCode);

        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", TrainBody("resnet18"), key));
        await response.AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_malformed_idempotency_key_gets_400_naming_the_header()
    {
        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", TrainBody(), new string('k', 201)));
        var errors = await response.AssertValidationProblemAsync();
        Assert.Equal(["Idempotency-Key"], errors.Keys);
    }

    [Fact]
    public async Task An_eval_job_takes_its_architecture_and_hyperparameters_from_its_source()
    {
        var source = await CreateTrainJobAsync(TrainBody("convnet", """{ "epochs": 2, "seed": 7 }"""));
        await Driver.SucceedAsync(source, epochs: 2);

        var response = await Client.PostJsonAsync("/jobs",
            $$"""{ "kind": "eval", "source": { "jobId": "{{source}}", "checkpoint": "final" }, "hyperparameters": { "device": "cpu" } }""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.ReadJsonAsync();
        Assert.Equal("eval", job["kind"]!.GetValue<string>());
        Assert.Equal("convnet", job["architecture"]!.GetValue<string>());
        Assert.Equal(source.ToString(), job["source"]!["jobId"]!.GetValue<string>());
        Assert.Equal("final", job["source"]!["checkpoint"]!.GetValue<string>());
        Assert.Equal(2, job["hyperparameters"]!["epochs"]!.GetValue<int>());
        Assert.Equal(7, job["hyperparameters"]!["seed"]!.GetValue<long>());
        Assert.Equal("cpu", job["hyperparameters"]!["device"]!.GetValue<string>());

        // An epoch number, as a JSON number or a string, and best.
        foreach (var checkpoint in new[] { "1", "\"2\"", "\"best\"" })
        {
            var byEpoch = await Client.PostJsonAsync("/jobs", $$"""{ "kind": "eval", "architecture": "convnet", "source": { "jobId": "{{source}}", "checkpoint": {{checkpoint}} } }""");
            Assert.Equal(HttpStatusCode.Accepted, byEpoch.StatusCode);
            Assert.Equal(checkpoint.Trim('"'), (await byEpoch.ReadJsonAsync())["source"]!["checkpoint"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Eval_jobs_are_refused_when_the_source_cannot_provide_the_checkpoint()
    {
        var running = await CreateTrainJobAsync();
        var lease = await Driver.StartAsync(running);
        await Driver.RecordEpochAsync(running, lease, 1);

        async Task<Dictionary<string, string[]>> Refused(string body) =>
            await (await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", body))).AssertValidationProblemAsync();

        // final needs a succeeded job; best needs a checkpoint; an epoch needs that epoch's checkpoint.
        Assert.Equal(["source.checkpoint"], (await Refused($$"""{ "kind": "eval", "source": { "jobId": "{{running}}", "checkpoint": "final" } }""")).Keys);
        Assert.Equal(["source.checkpoint"], (await Refused($$"""{ "kind": "eval", "source": { "jobId": "{{running}}", "checkpoint": "best" } }""")).Keys);
        await Driver.SaveCheckpointAsync(running, lease, 1);
        Assert.Equal(HttpStatusCode.Accepted, (await Client.PostJsonAsync("/jobs", $$"""{ "kind": "eval", "source": { "jobId": "{{running}}", "checkpoint": "best" } }""")).StatusCode);
        var noEpoch = await Refused($$"""{ "kind": "eval", "source": { "jobId": "{{running}}", "checkpoint": 7 } }""");
        Assert.Contains("epochs 1", Assert.Single(noEpoch["source.checkpoint"]));

        // Hyperparameters other than device, and another architecture, are not the client's to choose.
        var overridden = await Refused($$"""{ "kind": "eval", "architecture": "resnet18", "source": { "jobId": "{{running}}", "checkpoint": 1 }, "hyperparameters": { "epochs": 5, "learningRate": 0.1 } }""");
        Assert.Equal(["architecture", "hyperparameters.epochs", "hyperparameters.learningRate"], overridden.Keys.Order());

        // The source must be a training job.
        var eval = await Client.PostJsonAsync("/jobs", $$"""{ "kind": "eval", "source": { "jobId": "{{running}}", "checkpoint": 1 } }""");
        var evalId = (await eval.ReadJsonAsync())["id"]!.GetValue<string>();
        Assert.Equal(["source.jobId"], (await Refused($$"""{ "kind": "eval", "source": { "jobId": "{{evalId}}", "checkpoint": "best" } }""")).Keys);
    }

    [Fact]
    public async Task Stored_effective_hyperparameters_match_the_response()
    {
        var id = await CreateTrainJobAsync(TrainBody("resnet18", """{ "lrSchedule": "step", "stepEpochs": 2, "stepGamma": 0.5 }"""));
        var stored = (await Factory.Store.GetAsync(id, CancellationToken.None))!;
        Assert.Equal(ArchitectureCatalog.ResNet18.Defaults with
        {
            LrSchedule = LearningRateSchedule.Step, StepEpochs = 2, StepGamma = 0.5,
        }, stored.Hyperparameters);
        Assert.Equal(JobKind.Train, stored.Kind);
    }
}
