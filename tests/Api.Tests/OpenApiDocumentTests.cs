using System.Text.Json;
using System.Text.Json.Nodes;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.Api.Tests;

/// <summary>
/// The OpenAPI document the code serves is the one committed as <c>docs/openapi.json</c>, from which
/// the typed client (src/Client) is generated and which Spectral lints (scripts/lint-openapi.sh).
/// After a change to the API, <c>scripts/update-openapi.sh</c> writes the new one; a pull request then
/// shows the contract's change as a diff.
/// </summary>
public sealed class OpenApiDocumentTests(SqliteApiFactory factory) : IClassFixture<SqliteApiFactory>
{
    /// <summary>Set by scripts/update-openapi.sh: write the served document to docs/openapi.json instead of comparing.</summary>
    public const string UpdateVariable = "TRAININGSERVICE_UPDATE_OPENAPI";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Fact]
    public async Task The_committed_openapi_document_is_the_one_the_code_serves()
    {
        var served = await factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json");
        var normalized = JsonNode.Parse(served)!.ToJsonString(Indented) + "\n";
        var path = Path.Combine(TestData.RepositoryRoot, "docs", "openapi.json");

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
            await File.WriteAllTextAsync(path, normalized);

        var committed = File.Exists(path) ? await File.ReadAllTextAsync(path) : "";
        Assert.True(committed == normalized,
            $"docs/openapi.json differs from the document the API serves: run scripts/update-openapi.sh and commit the result.\n{FirstDifference(committed, normalized)}");
    }

    private static string FirstDifference(string committed, string served)
    {
        var a = committed.Split('\n');
        var b = served.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var left = i < a.Length ? a[i] : "(end of file)";
            var right = i < b.Length ? b[i] : "(end of file)";
            if (left != right)
                return $"line {i + 1}:\n  committed: {left.Trim()}\n  served:    {right.Trim()}";
        }
        return "";
    }
}
