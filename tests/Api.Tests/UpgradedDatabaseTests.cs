using System.Net;
using Microsoft.Data.Sqlite;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.Api.Tests;

/// <summary>
/// The API started on a database the release before DbUp left behind (Storage.Tests'
/// <c>Fixtures/release-before-dbup.sqlite.sql</c>, with jobs stored before normalization was a
/// hyperparameter): it upgrades the schema as it starts, and serves those jobs as it serves new
/// ones — their normalization named by the migration, not worked out when they are read.
/// </summary>
public sealed class UpgradedDatabaseTests(UpgradedDatabaseTests.ReleaseBeforeDbUp factory) : IClassFixture<UpgradedDatabaseTests.ReleaseBeforeDbUp>
{
    // Jobs of the fixture: a convnet with an Idempotency-Key, a resnet18 and an attention job, none naming a normalization.
    private const string OldConvNet = "01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e";
    private const string OldResNet = "01950002-6c3e-7d4a-9b1e-2f3a4b5c6d7e";
    private const string OldAttention = "01950003-6c3e-7d4a-9b1e-2f3a4b5c6d7e";

    /// <summary>The old release's file in place of the empty one, before the API starts (and migrates).</summary>
    public sealed class ReleaseBeforeDbUp : SqliteApiFactory
    {
        protected override async Task<Dictionary<string, string?>> CreateStorageAsync()
        {
            var settings = await base.CreateStorageAsync();
            var fixture = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "release-before-dbup.sqlite.sql"));
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = settings["Storage:SqlitePath"], Pooling = false }.ToString());
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = fixture;
            await command.ExecuteNonQueryAsync();
            return settings;
        }
    }

    [Theory]
    [InlineData(OldConvNet, "none")]
    [InlineData(OldResNet, "batch")]
    [InlineData(OldAttention, "layer")]
    public async Task An_old_job_shows_the_normalization_its_architecture_had(string id, string normalization)
    {
        var job = await (await factory.CreateClient().GetAsync($"/jobs/{id}")).ReadJsonAsync();

        Assert.Equal(normalization, job["hyperparameters"]!["normalization"]!.GetValue<string>());
    }

    [Fact]
    public async Task Repeating_an_old_jobs_request_under_its_idempotency_key_returns_that_job_and_a_different_one_conflicts()
    {
        // What the old job was asked for: the convnet's hyperparameters of the time, no normalization.
        const string body = """
            { "kind": "train", "architecture": "convnet", "name": "legacy convnet", "tags": ["legacy", "study"],
              "hyperparameters": { "epochs": 3, "batchSize": 128, "learningRate": 0.002, "optimizer": "adam", "weightDecay": 0,
                                   "momentum": 0.9, "lrSchedule": "onecycle", "stepEpochs": 1, "stepGamma": 0.1, "seed": 42,
                                   "device": "cpu", "trainSubset": 1000 } }
            """;
        var client = factory.CreateClient();

        var repeated = await client.PostJsonAsync("/jobs", body, "fixture-key-1");
        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.Equal(OldConvNet, (await repeated.ReadJsonAsync())["id"]!.GetValue<string>());

        var different = await client.PostJsonAsync("/jobs", body.Replace("\"trainSubset\": 1000", "\"trainSubset\": 1000, \"normalization\": \"batch\""), "fixture-key-1");
        Assert.Equal(HttpStatusCode.Conflict, different.StatusCode);
    }
}
