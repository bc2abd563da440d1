using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts.Checkpoints;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    private string WeightsPath(Guid id, int epoch) =>
        Path.Combine(Factory.CheckpointOptions.JobDirectory(id), CheckpointFolder.LabelFor(epoch), CheckpointFolder.ModelFileName);

    [Fact]
    public async Task Checkpoints_are_listed_with_sizes_hashes_metrics_and_aliases()
    {
        var id = await CreateTrainJobAsync();
        var empty = await (await Client.GetAsync($"/jobs/{id}/checkpoints")).ReadJsonAsync();
        Assert.Empty(empty["checkpoints"]!.AsArray());
        Assert.Null(empty["best"]);
        Assert.Null(empty["final"]);

        var lease = await Driver.StartAsync(id);
        var manifests = new List<CheckpointManifest>();
        for (var epoch = 1; epoch <= 2; epoch++)
            manifests.Add(await Driver.SaveCheckpointAsync(id, lease, epoch));
        Driver.SetAlias(id, CheckpointFolder.BestAlias, 1);

        var list = await (await Client.GetAsync($"/jobs/{id}/checkpoints")).ReadJsonAsync();
        var items = list["checkpoints"]!.AsArray();
        Assert.Equal(2, items.Count);
        for (var i = 0; i < 2; i++)
        {
            var weights = manifests[i].Files.Single(f => f.Name == CheckpointFolder.ModelFileName);
            Assert.Equal(i + 1, items[i]!["epoch"]!.GetValue<int>());
            Assert.Equal(weights.SizeBytes, items[i]!["sizeBytes"]!.GetValue<long>());
            Assert.Equal(weights.Sha256, items[i]!["sha256"]!.GetValue<string>());
            Assert.Equal(JobDriver.Metrics(i + 1).TestAccuracy, items[i]!["metrics"]!["testAccuracy"]!.GetValue<double>());
            Assert.Equal($"/jobs/{id}/checkpoints/{i + 1}", items[i]!["url"]!.GetValue<string>());
            Assert.NotNull(items[i]!["createdAt"]);
        }
        Assert.Equal(1, list["best"]!.GetValue<int>());
        Assert.Null(list["final"]);
    }

    [Theory]
    [InlineData("2", 2)]
    [InlineData("epoch-0002", 2)]
    [InlineData("best", 1)]
    [InlineData("final", 2)]
    public async Task A_checkpoint_downloads_as_safetensors_with_its_sha256_as_etag(string reference, int epoch)
    {
        var id = await CreateTrainJobAsync();
        await Driver.SucceedAsync(id, 2);
        Driver.SetAlias(id, CheckpointFolder.BestAlias, 1);
        var onDisk = await File.ReadAllBytesAsync(WeightsPath(id, epoch));

        var response = await Client.GetAsync($"/jobs/{id}/checkpoints/{reference}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(onDisk.Length, response.Content.Headers.ContentLength);
        Assert.Equal($"{id}-epoch-{epoch:D4}.safetensors", response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(onDisk, body);
        Assert.Equal($"\"{Convert.ToHexStringLower(SHA256.HashData(body))}\"", response.Headers.ETag?.Tag);
        Assert.Equal("bytes", response.Headers.AcceptRanges.Single());
    }

    [Fact]
    public async Task A_checkpoint_download_honours_if_none_match_and_ranges()
    {
        var id = await CreateTrainJobAsync();
        await Driver.SucceedAsync(id, 1);
        var onDisk = await File.ReadAllBytesAsync(WeightsPath(id, 1));
        var etag = (await Client.GetAsync($"/jobs/{id}/checkpoints/1")).Headers.ETag!;

        var conditional = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}/checkpoints/final");
        conditional.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await Client.SendAsync(conditional)).StatusCode);

        var ranged = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}/checkpoints/1");
        ranged.Headers.Range = new RangeHeaderValue(100, 1123);
        var partial = await Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(1024, partial.Content.Headers.ContentLength);
        Assert.Equal(new ContentRangeHeaderValue(100, 1123, onDisk.Length), partial.Content.Headers.ContentRange);
        Assert.Equal(onDisk.AsSpan(100, 1024).ToArray(), await partial.Content.ReadAsByteArrayAsync());

        // A resumed download: from byte N to the end.
        var tail = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}/checkpoints/1");
        tail.Headers.Range = new RangeHeaderValue(onDisk.Length - 10, null);
        Assert.Equal(onDisk[^10..], await (await Client.SendAsync(tail)).Content.ReadAsByteArrayAsync());

        var beyond = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}/checkpoints/1");
        beyond.Headers.Range = new RangeHeaderValue(onDisk.Length + 10, null);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await Client.SendAsync(beyond)).StatusCode);
    }

    [Fact]
    public async Task A_checkpoint_manifest_describes_its_files()
    {
        var id = await CreateTrainJobAsync();
        await Driver.SucceedAsync(id, 2);

        var manifest = await (await Client.GetAsync($"/jobs/{id}/checkpoints/final/manifest")).ReadJsonAsync();

        Assert.Equal(CheckpointManifest.CurrentFormatVersion, manifest["formatVersion"]!.GetValue<int>());
        Assert.Equal("convnet", manifest["architecture"]!.GetValue<string>());
        Assert.Equal(2, manifest["epoch"]!.GetValue<int>());
        Assert.Equal("adam", manifest["hyperparameters"]!["optimizer"]!.GetValue<string>());
        Assert.Equal(JobDriver.Metrics(2).TestAccuracy, manifest["metrics"]!["testAccuracy"]!.GetValue<double>());
        var weights = manifest["files"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == CheckpointFolder.ModelFileName)!;
        var onDisk = await File.ReadAllBytesAsync(WeightsPath(id, 2));
        Assert.Equal(onDisk.Length, weights["sizeBytes"]!.GetValue<long>());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(onDisk)), weights["sha256"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("..%2F..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("%2e%2e")]
    [InlineData("..")]
    [InlineData("../../../../etc/passwd")]
    [InlineData("final.json")]
    [InlineData("epoch-3")]
    [InlineData("-1")]
    [InlineData("99999")]
    [InlineData("%2Fetc%2Fpasswd")]
    [InlineData("best%20")]
    [InlineData("BEST")]
    public async Task A_checkpoint_reference_that_is_not_one_gets_400_and_never_reads_a_path(string reference)
    {
        var id = await CreateTrainJobAsync();
        await Driver.SucceedAsync(id, 1);

        foreach (var suffix in new[] { "", "/manifest" })
        {
            var response = await SendRawPathAsync($"/jobs/{id}/checkpoints/{reference}{suffix}");
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("root:", text, StringComparison.Ordinal);
            if (response.StatusCode == HttpStatusCode.BadRequest)
                Assert.Equal(["reference"], (await response.AssertValidationProblemAsync()).Keys);
            else
                await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }
    }

    /// <summary>
    /// A GET of <paramref name="rawPath"/> as the server would see it from the wire: escapes decoded
    /// as Kestrel decodes them (all but %2F), but no dot segments resolved and nothing normalised on
    /// the way, which an HttpClient would do before sending.
    /// </summary>
    private async Task<HttpResponseMessage> SendRawPathAsync(string rawPath)
    {
        var context = await Factory.Server.SendAsync(c =>
        {
            c.Request.Method = HttpMethods.Get;
            c.Request.Path = PathString.FromUriComponent(rawPath);
        });
        var response = new HttpResponseMessage((HttpStatusCode)context.Response.StatusCode)
        {
            Content = new StreamContent(context.Response.Body),
        };
        if (context.Response.ContentType is { } contentType)
            response.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        return response;
    }

    [Fact]
    public async Task A_missing_checkpoint_or_job_gets_404()
    {
        var id = await CreateTrainJobAsync();
        var lease = await Driver.StartAsync(id);
        await Driver.SaveCheckpointAsync(id, lease, 1);

        await (await Client.GetAsync($"/jobs/{id}/checkpoints/2")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync($"/jobs/{id}/checkpoints/final")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync($"/jobs/{id}/checkpoints/best/manifest")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync($"/jobs/{Guid.NewGuid()}/checkpoints/1")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync($"/jobs/{Guid.NewGuid()}/checkpoints")).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync($"/jobs/{id}/checkpoints/1")).StatusCode);
    }
}
