using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    [Fact]
    public async Task Architectures_lists_the_three_with_their_defaults()
    {
        var list = (await (await Client.GetAsync("/architectures")).ReadJsonAsync()).AsArray();

        Assert.Equal(["convnet", "resnet18", "attention"], list.Select(a => a!["name"]!.GetValue<string>()));
        foreach (var (node, info) in list.Zip(ArchitectureCatalog.All))
        {
            Assert.Equal(info.ParameterCount, node!["parameterCount"]!.GetValue<long>());
            Assert.Equal(info.Description, node["description"]!.GetValue<string>());
            Assert.Equal(info.Defaults.Epochs, node["defaultHyperparameters"]!["epochs"]!.GetValue<int>());
            Assert.Equal(info.Defaults.Optimizer.ToString().ToLowerInvariant(), node["defaultHyperparameters"]!["optimizer"]!.GetValue<string>());
        }
        Assert.Equal("adamw", list[2]!["defaultHyperparameters"]!["optimizer"]!.GetValue<string>());

        var one = await (await Client.GetAsync("/architectures/resnet18")).ReadJsonAsync();
        Assert.Equal(11_175_434, one["parameterCount"]!.GetValue<long>());
        await (await Client.GetAsync("/architectures/vgg16")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Workers_lists_only_those_with_a_recent_heartbeat()
    {
        var now = DateTimeOffset.UtcNow;
        var live = $"live-{Guid.NewGuid():N}";
        var stale = $"stale-{Guid.NewGuid():N}";
        var running = Guid.NewGuid();
        await Factory.Workers.UpsertWorkerAsync(new WorkerRecord(live, "host-a", ["gpu", "default"], "cuda:0", running, now.AddHours(-1), now), CancellationToken.None);
        await Factory.Workers.UpsertWorkerAsync(new WorkerRecord(stale, "host-b", ["cpu"], "cpu", null, now.AddHours(-2), now.AddMinutes(-5)), CancellationToken.None);
        try
        {
            var workers = (await (await Client.GetAsync("/workers")).ReadJsonAsync()).AsArray();

            var worker = Assert.Single(workers, w => w!["id"]!.GetValue<string>() == live)!;
            Assert.DoesNotContain(workers, w => w!["id"]!.GetValue<string>() == stale);
            Assert.Equal("host-a", worker["host"]!.GetValue<string>());
            Assert.Equal(["gpu", "default"], worker["queues"]!.AsArray().Select(q => q!.GetValue<string>()));
            Assert.Equal("cuda:0", worker["device"]!.GetValue<string>());
            Assert.Equal(running.ToString(), worker["runningJobId"]!.GetValue<string>());
            Assert.EndsWith("Z", worker["lastHeartbeat"]!.GetValue<string>());
            Assert.NotNull(worker["startedAt"]);
        }
        finally
        {
            await Factory.Workers.RemoveWorkerAsync(live, CancellationToken.None);
            await Factory.Workers.RemoveWorkerAsync(stale, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Health_says_live_and_ready_with_each_check()
    {
        var live = await Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("healthy", (await live.ReadJsonAsync())["status"]!.GetValue<string>());

        var ready = await Client.GetAsync("/health/ready");
        var report = await ready.ReadJsonAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.OK, report.ToJsonString());
        Assert.Equal("healthy", report["status"]!.GetValue<string>());
        var checks = report["checks"]!.AsArray().ToDictionary(c => c!["name"]!.GetValue<string>(), c => c!["status"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { ["database"] = "healthy", ["queue"] = "healthy", ["checkpoints"] = "healthy" }, checks);
        Assert.Empty(Directory.EnumerateFiles(Factory.CheckpointRoot, ".health-*"));
    }

    [Fact]
    public async Task Readiness_is_503_problem_details_when_the_checkpoint_root_is_not_writable()
    {
        var notADirectory = Path.Combine(Factory.CheckpointRoot, $"file-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Factory.CheckpointRoot);
        await File.WriteAllTextAsync(notADirectory, "a file where the checkpoint root should be");
        await using var broken = Factory.WithWebHostBuilder(builder => builder.UseSetting("Checkpoints:Root", notADirectory));

        var ready = await broken.CreateClient().GetAsync("/health/ready");

        var problem = await ready.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        var checks = problem["checks"]!.AsArray().ToDictionary(c => c!["name"]!.GetValue<string>(), c => c!["status"]!.GetValue<string>());
        Assert.Equal("unhealthy", checks["checkpoints"]);
        Assert.Equal("healthy", checks["database"]);
        Assert.DoesNotContain(notADirectory, problem.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await broken.CreateClient().GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task An_unexpected_failure_is_a_500_problem_without_internals()
    {
        await using var failing = Factory.WithWebHostBuilder(builder => builder.ConfigureTestServices(CountingJobStore.Decorate));
        ((CountingJobStore)failing.Services.GetRequiredService<IJobStore>()).FailListing = true;

        var response = await failing.CreateClient().GetAsync("/jobs");

        var problem = await response.AssertProblemAsync(HttpStatusCode.InternalServerError);
        Assert.DoesNotContain("secret", problem.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Simulated", problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_openapi_document_describes_and_exemplifies_every_operation_and_schema()
    {
        var response = await Client.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.ReadJsonAsync();
        Assert.False(string.IsNullOrWhiteSpace(document["info"]!["description"]?.GetValue<string>()));

        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(op => (Name: $"{op.Key.ToUpperInvariant()} {path.Key}", Operation: op.Value!)))
            .ToList();
        string[] expected =
        [
            "POST /jobs", "GET /jobs", "GET /jobs/{id}", "POST /jobs/{id}/cancel", "GET /jobs/{id}/metrics",
            "GET /jobs/{id}/checkpoints", "GET /jobs/{id}/checkpoints/{reference}", "GET /jobs/{id}/checkpoints/{reference}/manifest",
            "GET /jobs/{id}/logs", "GET /architectures", "GET /architectures/{name}", "GET /workers", "GET /health/live", "GET /health/ready",
        ];
        Assert.Empty(expected.Except(operations.Select(o => o.Name)));
        foreach (var (name, operation) in operations.Where(o => expected.Contains(o.Name)))
        {
            Assert.False(string.IsNullOrWhiteSpace(operation["summary"]?.GetValue<string>()), $"{name} has no summary.");
            Assert.False(string.IsNullOrWhiteSpace(operation["description"]?.GetValue<string>()), $"{name} has no description.");
            Assert.NotNull(operation["operationId"]);
            foreach (var parameter in operation["parameters"]?.AsArray() ?? [])
                Assert.False(string.IsNullOrWhiteSpace(parameter!["description"]?.GetValue<string>()), $"{name}: parameter {parameter["name"]} has no description.");
            // Every answer shows an example, through its schema or its media type.
            foreach (var (status, answer) in operation["responses"]!.AsObject())
            {
                foreach (var (mediaType, content) in answer!["content"]?.AsObject() ?? [])
                    Assert.True(HasExample(document, content!), $"{name} {status} {mediaType} has no example.");
            }
        }

        var post = document["paths"]!["/jobs"]!["post"]!;
        Assert.True(HasExample(document, post["requestBody"]!["content"]!["application/json"]!), "POST /jobs's body has no example.");
        var metrics200 = document["paths"]!["/jobs/{id}/metrics"]!["get"]!["responses"]!["200"]!["content"]!.AsObject();
        Assert.Contains("text/event-stream", metrics200.Select(c => c.Key));
        Assert.Contains("text/csv", metrics200.Select(c => c.Key));

        foreach (var (name, schema) in document["components"]!["schemas"]!.AsObject())
        {
            Assert.True(schema!["example"] is not null || schema["examples"] is JsonArray { Count: > 0 }, $"Schema {name} has no example.");
            Assert.False(string.IsNullOrWhiteSpace(schema["description"]?.GetValue<string>()), $"Schema {name} has no description.");
        }
        var statuses = document["components"]!["schemas"]!["JobStatus"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>());
        Assert.Equal(["queued", "running", "succeeded", "failed", "cancelling", "cancelled", "interrupted"], statuses);

        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/swagger/index.html")).StatusCode);
    }

    private static bool HasExample(JsonNode document, JsonNode content)
    {
        if (content["example"] is not null || content["examples"] is not null)
            return true;
        var schema = content["schema"];
        if (schema?["items"] is { } items)
            schema = items;
        if (schema?["$ref"]?.GetValue<string>() is { } reference)
            schema = document["components"]!["schemas"]![reference.Split('/')[^1]];
        if (schema?["type"]?.GetValue<string>() is "string" && schema["format"]?.GetValue<string>() == "binary")
            return true;
        return schema?["example"] is not null || schema?["examples"] is JsonArray { Count: > 0 };
    }
}
