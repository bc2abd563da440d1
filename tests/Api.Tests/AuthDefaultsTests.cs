using System.Net;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.Api.Tests;

/// <summary>
/// With <c>Auth:Enabled</c> unset, authentication follows the storage: on with PostgreSQL (a shared
/// deployment), off on the embedded store (one process on a developer's machine).
/// </summary>
public sealed class AuthDefaultsTests(AuthDefaultsTests.PostgresDefaults postgres, AuthDefaultsTests.SqliteDefaults sqlite)
    : IClassFixture<AuthDefaultsTests.PostgresDefaults>, IClassFixture<AuthDefaultsTests.SqliteDefaults>
{
    /// <summary>No Auth or Limits settings at all: the service's own defaults.</summary>
    private static readonly IReadOnlyDictionary<string, string?> NoSettings = new Dictionary<string, string?>();

    public sealed class PostgresDefaults : PostgresApiFactory
    {
        protected override IReadOnlyDictionary<string, string?> ServiceSettings => NoSettings;
    }

    public sealed class SqliteDefaults : SqliteApiFactory
    {
        protected override IReadOnlyDictionary<string, string?> ServiceSettings => NoSettings;
    }

    [Fact]
    public async Task Authentication_is_on_by_default_with_postgres()
    {
        var client = postgres.CreateClient();

        await (await client.GetAsync("/jobs")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await client.PostJsonAsync("/jobs", """{ "kind": "train", "architecture": "convnet" }""")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/architectures")).StatusCode);
    }

    [Fact]
    public async Task Authentication_is_off_by_default_on_the_embedded_store()
    {
        var client = sqlite.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/jobs")).StatusCode);
    }
}
