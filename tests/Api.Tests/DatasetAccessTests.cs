using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts.Access;

namespace TrainingService.Api.Tests;

/// <summary>With authentication on, uploads are owned as jobs are: a key's name sees, names in jobs and deletes its own; another owner's is a 404 everywhere; admins see all.</summary>
public sealed class DatasetAccessTests(SecuredSqliteApiFactory factory) : IClassFixture<SecuredSqliteApiFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    private async Task<string> NewKeyAsync(string role, bool admin = false)
    {
        var (record, key) = ApiKeys.Create($"{role}-{Guid.NewGuid():N}"[..20], admin, DateTimeOffset.UtcNow);
        await factory.Services.GetRequiredService<IApiKeyStore>().CreateApiKeyAsync(record, CancellationToken.None);
        return key;
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client.SendAsync(request);
    }

    private async Task<IReadOnlyList<string>> ListAsync(string key) =>
        [.. (await (await SendAsync(HttpMethod.Get, "/datasets", key)).ReadJsonAsync())["items"]!.AsArray().Select(d => d!["name"]!.GetValue<string>())];

    [Fact]
    public async Task Another_owners_upload_reads_as_one_that_does_not_exist()
    {
        var (alice, bob, admin) = (await NewKeyAsync("alice"), await NewKeyAsync("bob"), await NewKeyAsync("admin", admin: true));
        await (await SendAsync(HttpMethod.Post, "/datasets", null, Uploads.Form(Uploads.MnistSubset(20, 10)))).AssertProblemAsync(HttpStatusCode.Unauthorized);
        var upload = await SendAsync(HttpMethod.Post, "/datasets", alice, Uploads.Form(Uploads.MnistSubset(20, 10)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var dataset = await upload.ReadJsonAsync();
        var id = dataset["name"]!.GetValue<string>();
        Assert.Equal(dataset["owner"]!.GetValue<string>(), (await factory.Services.GetRequiredService<Contracts.Datasets.IDatasetStore>().GetDatasetAsync(Guid.Parse(id), CancellationToken.None))!.Owner);

        Assert.Equal(["mnist", "fashion-mnist", id], await ListAsync(alice));
        Assert.Equal(["mnist", "fashion-mnist"], await ListAsync(bob));
        Assert.Contains(id, await ListAsync(admin));
        await (await SendAsync(HttpMethod.Get, $"/datasets/{id}", bob)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await SendAsync(HttpMethod.Delete, $"/datasets/{id}", bob)).AssertProblemAsync(HttpStatusCode.NotFound);
        var bobsJob = await SendAsync(HttpMethod.Post, "/jobs", bob, Http.Json($$"""{ "kind": "train", "architecture": "convnet", "dataset": "{{id}}" }"""));
        Assert.Contains("there is no dataset", Assert.Single((await bobsJob.AssertValidationProblemAsync())["dataset"]));

        var alicesJob = await SendAsync(HttpMethod.Post, "/jobs", alice, Http.Json($$"""{ "kind": "train", "architecture": "convnet", "dataset": "{{id}}" }"""));
        Assert.Equal(HttpStatusCode.Accepted, alicesJob.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/datasets/{id}", admin)).StatusCode);
    }
}
