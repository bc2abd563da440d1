using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Api.Datasets;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts.Datasets;
using TrainingService.Tests.Shared;

namespace TrainingService.Api.Tests;

/// <summary>A service with small upload limits, over real HTTP: a body or a dataset over them gets 413 and leaves nothing; leftovers of dead uploads are cleaned up.</summary>
public sealed class DatasetLimitsTests(SmallUploadLimitsFactory factory) : IClassFixture<SmallUploadLimitsFactory>
{
    private readonly HttpClient client = factory.CreateClient();

    private async Task AssertRefusedWith413LeavingNothingAsync(HttpContent content, string expected, bool chunked = false)
    {
        var before = Uploads.VolumeEntries(factory.CheckpointRoot);
        var datasetsBefore = (await (await client.GetAsync("/datasets")).ReadJsonAsync())["items"]!.ToJsonString();

        var request = new HttpRequestMessage(HttpMethod.Post, "/datasets") { Content = content };
        request.Headers.TransferEncodingChunked = chunked;
        var response = await client.SendAsync(request);

        var problem = await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains(expected, problem["detail"]!.GetValue<string>());
        Assert.Equal(before, Uploads.VolumeEntries(factory.CheckpointRoot));
        Assert.Equal(datasetsBefore, (await (await client.GetAsync("/datasets")).ReadJsonAsync())["items"]!.ToJsonString());
    }

    [Fact]
    public async Task A_body_over_MaxUploadBytes_is_refused_whether_or_not_it_says_its_length()
    {
        var files = Uploads.MnistSubset(trainCount: 200, testCount: 50); // 160 KB raw, over the 100 KB limit

        await AssertRefusedWith413LeavingNothingAsync(Uploads.Form(files), "more than the 102,400 an upload may be (Datasets:MaxUploadBytes)");

        // Chunked, without a Content-Length: counted as it arrives.
        var form = Uploads.Form(files);
        var chunked = new UnknownLengthContent(await form.ReadAsByteArrayAsync());
        chunked.Headers.ContentType = form.Headers.ContentType;
        await AssertRefusedWith413LeavingNothingAsync(chunked, "more than the 102,400 bytes an upload may be", chunked: true);
    }

    [Fact]
    public async Task Files_whose_headers_claim_more_than_MaxDatasetBytes_together_are_refused_before_their_data_is_read()
    {
        // Each file alone fits the 200,000-byte budget; the test images are one too many.
        var files = new Dictionary<string, byte[]>
        {
            ["trainImages"] = IdxTestFiles.Gzip(IdxTestFiles.Images(new byte[200 * 784])), // 156,816 bytes decompressed
            ["trainLabels"] = IdxTestFiles.Labels(new byte[200]),
            ["testImages"] = IdxTestFiles.Gzip(IdxTestFiles.Images(new byte[60 * 784])),   //  47,056: over what is left
            ["testLabels"] = IdxTestFiles.Labels(new byte[60]),
        };

        await AssertRefusedWith413LeavingNothingAsync(Uploads.Form(files), "testImages: its header declares 60 images of 28×28, 47,056 bytes, more than the 42,976 bytes left");
    }

    [Fact]
    public async Task Leftovers_of_uploads_and_deletes_that_died_are_removed_once_an_hour_old_and_nothing_else()
    {
        var volume = factory.Services.GetRequiredService<DatasetVolume>();
        var store = factory.Services.GetRequiredService<IDatasetStore>();
        var root = DatasetFolder.Root(factory.CheckpointRoot);
        string Folder(string path, TimeSpan age)
        {
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "train-images-idx3-ubyte"), "partial");
            Directory.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
            return path;
        }
        var deadStaging = Folder(Path.Combine(DatasetFolder.Staging(factory.CheckpointRoot), Guid.NewGuid().ToString("N")), TimeSpan.FromHours(2));
        var liveStaging = Folder(Path.Combine(DatasetFolder.Staging(factory.CheckpointRoot), Guid.NewGuid().ToString("N")), TimeSpan.FromMinutes(1));
        var unrecorded = Folder(DatasetFolder.For(factory.CheckpointRoot, Guid.NewGuid()), TimeSpan.FromHours(2));
        var halfRemoved = Folder(Path.Combine(root, ".removing-" + Guid.NewGuid().ToString("N")), TimeSpan.FromHours(2));
        var upload = await client.PostAsync("/datasets", Uploads.Form(Uploads.MnistSubset(trainCount: 20, testCount: 10)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var recorded = DatasetFolder.For(factory.CheckpointRoot, Guid.Parse((await upload.ReadJsonAsync())["id"]!.GetValue<string>()));
        Directory.SetLastWriteTimeUtc(recorded, DateTime.UtcNow.AddHours(-3));

        var removed = await volume.RemoveLeftoversAsync(store, TimeSpan.FromHours(1), CancellationToken.None);

        Assert.Equal(new[] { deadStaging, unrecorded, halfRemoved }.Order(), removed.Order());
        Assert.All(removed, folder => Assert.False(Directory.Exists(folder)));
        Assert.True(Directory.Exists(liveStaging));
        Assert.Equal(4, Directory.GetFiles(recorded).Length);
    }

    /// <summary>A body that does not say its length (sent chunked).</summary>
    private sealed class UnknownLengthContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>
/// Uploads of at most 100 KB as sent and 200,000 bytes decompressed, served by Kestrel on a loopback
/// port: a chunked body arrives chunked, and Kestrel's own body limits and its refusal of synchronous
/// reads apply as in production.
/// </summary>
public sealed class SmallUploadLimitsFactory : SqliteApiFactory
{
    public SmallUploadLimitsFactory() => UseKestrel(0);

    protected override IReadOnlyDictionary<string, string?> ServiceSettings { get; } = new Dictionary<string, string?>
    {
        ["Auth:Enabled"] = "false",
        ["Limits:SubmissionsPerWindow"] = "1000000",
        ["Datasets:MaxUploadBytes"] = "102400",
        ["Datasets:MaxDatasetBytes"] = "200000",
    };
}
