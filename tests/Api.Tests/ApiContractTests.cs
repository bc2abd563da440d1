using System.Net;
using System.Text.Json.Nodes;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.Api.Tests;

/// <summary>
/// The HTTP contract of issue 3, section 1, written once and run against each storage backend
/// (see <see cref="SqliteApiTests"/> and <see cref="PostgresApiTests"/>). Tests in one class share
/// their backend's database and run one at a time, so a test's before/after counts are its own.
/// </summary>
public abstract partial class ApiContractTests(ApiFactory factory)
{
    protected static readonly TimeSpan StreamTimeout = TimeSpan.FromSeconds(10);

    protected ApiFactory Factory { get; } = factory;

    protected HttpClient Client { get; } = factory.CreateClient();

    protected JobDriver Driver { get; } = new(factory);

    /// <summary>A tag no other test uses, to list only this test's jobs.</summary>
    protected static string NewTag() => "t" + Guid.NewGuid().ToString("N")[..12];

    protected static string TrainBody(string architecture = "convnet", string hyperparameters = "{}", string tag = "contract") =>
        $$"""{ "kind": "train", "architecture": "{{architecture}}", "hyperparameters": {{hyperparameters}}, "tags": ["{{tag}}"] }""";

    /// <summary>Submits a training job and returns its id (asserting the 202).</summary>
    protected async Task<Guid> CreateTrainJobAsync(string? body = null)
    {
        var response = await Client.PostJsonAsync("/jobs", body ?? TrainBody());
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
    }

    protected async Task<JsonNode> GetJobAsync(Guid id)
    {
        var response = await Client.GetAsync($"/jobs/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    /// <summary>Every job the API lists, by walking all pages: how tests see "nothing was stored".</summary>
    protected async Task<int> CountJobsAsync()
    {
        var count = 0;
        string? cursor = null;
        do
        {
            var url = cursor is null ? "/jobs?limit=200" : $"/jobs?limit=200&cursor={Uri.EscapeDataString(cursor)}";
            var page = await (await Client.GetAsync(url)).ReadJsonAsync();
            count += page["items"]!.AsArray().Count;
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        return count;
    }

    protected long EnqueuedCount() => Factory.EnqueuedCount();

    /// <summary>Runs <paramref name="request"/> and asserts it stored and enqueued nothing.</summary>
    protected async Task<HttpResponseMessage> AssertNothingStoredAsync(Func<Task<HttpResponseMessage>> request)
    {
        var jobsBefore = await CountJobsAsync();
        var queuedBefore = EnqueuedCount();
        var response = await request();
        Assert.Equal(jobsBefore, await CountJobsAsync());
        Assert.Equal(queuedBefore, EnqueuedCount());
        return response;
    }
}

public sealed class SqliteApiTests(SqliteApiFactory factory) : ApiContractTests(factory), IClassFixture<SqliteApiFactory>;

public sealed class PostgresApiTests(PostgresApiFactory factory) : ApiContractTests(factory), IClassFixture<PostgresApiFactory>;
