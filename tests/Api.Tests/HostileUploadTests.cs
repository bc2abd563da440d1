using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Tests.Shared;

namespace TrainingService.Api.Tests;

/// <summary>
/// Corrupt and hostile uploads, each built here: every one is refused with a problem detail naming
/// the part (or the limit), and leaves nothing behind — no file or folder on the volume, no record.
/// </summary>
public abstract partial class ApiContractTests
{
    /// <summary>16 MiB of zeros as one gzip member: concatenated, members make a bomb of any size cheaply (gzip allows several members).</summary>
    private static readonly Lazy<byte[]> ZerosMember = new(() => IdxTestFiles.Gzip(new byte[16 << 20], CompressionLevel.SmallestSize));

    /// <summary><paramref name="header"/>'s IDX content followed by <paramref name="mebibytesOfZeros"/> MiB of zeros, gzipped: a few KB per 16 MiB.</summary>
    private static byte[] GzipWithZeros(byte[] header, int mebibytesOfZeros)
    {
        using var output = new MemoryStream();
        output.Write(IdxTestFiles.Gzip(header));
        for (var i = 0; i < mebibytesOfZeros / 16; i++)
            output.Write(ZerosMember.Value);
        return output.ToArray();
    }

    public static TheoryData<string, int, string, string> HostileUploads() => new()
    {
        { "wrong magic", 400, "trainImages", "wrong magic number 0x00000801, expected 0x00000803 (IDX images): this is an IDX labels file" },
        { "truncated", 400, "testImages", "truncated: the header declares 100 images, which needs 78400 bytes of data, but only 78300 bytes follow the header" },
        { "truncated gzip", 400, "trainImages", "(the gzip archive is probably incomplete)" },
        { "corrupt gzip", 400, "trainImages", "corrupt gzip data" },
        { "2 GB of zeros claimed as 60,000 images", 400, "trainImages", "unexpected bytes after the 47040000 bytes of data the header declares (60000 images): the content is longer than its header says" },
        { "a header claiming 2 GB", 413, "trainImages", "its header declares 60000 images of 185×185, 2,053,500,016 bytes, more than the" },
        { "zip bomb labels", 400, "testLabels", "unexpected bytes after the 100 bytes of data the header declares (100 labels)" },
        { "labels out of range", 400, "trainLabels", "label 12 at index 7 is outside 0..9: classCount is 10 (the default; give classCount for more classes)." },
        { "labels for fewer images", 400, "trainLabels", "599 labels, but trainImages has 600 images" },
        { "test images of another size", 400, "testImages", "The test images are 20×20 and the training images 28×28" },
        { "an empty file", 400, "testLabels", "too short for an IDX header: 0 bytes" },
        { "a negative count", 400, "testLabels", "header declares a negative number of labels (-5)" },
        { "no images", 400, "trainImages", "the header declares no images" },
        { "a missing file", 400, "testLabels", "Required: the test labels as an IDX file" },
        { "an unknown part", 400, "validationImages", "Not a field of an upload" },
        { "a class count above 256", 400, "classCount", "Must be a whole number from 2 to 256" },
    };

    [Theory]
    [MemberData(nameof(HostileUploads))]
    public async Task A_corrupt_or_hostile_upload_is_refused_naming_the_part_and_leaves_nothing_behind(string upload, int status, string field, string expected)
    {
        var files = Uploads.MnistSubset(trainCount: 600, testCount: 100);
        var text = new Dictionary<string, string>();
        switch (upload)
        {
            case "wrong magic": files["trainImages"] = files["trainLabels"]; break;
            case "truncated": files["testImages"] = files["testImages"][..^100]; break;
            case "truncated gzip": files["trainImages"] = IdxTestFiles.Gzip(files["trainImages"])[..5000]; break;
            case "corrupt gzip":
                var gzip = IdxTestFiles.Gzip(files["trainImages"]);
                gzip.AsSpan(10, 64).Fill(0xff);
                files["trainImages"] = gzip;
                break;
            case "2 GB of zeros claimed as 60,000 images":
                files["trainImages"] = GzipWithZeros(IdxTestFiles.Images([], declaredCount: 60_000), 2048);
                files["trainLabels"] = IdxTestFiles.Labels(new byte[60_000]);
                break;
            case "a header claiming 2 GB": files["trainImages"] = GzipWithZeros(IdxTestFiles.Images([], 185, 185, declaredCount: 60_000), 16); break;
            case "zip bomb labels": files["testLabels"] = GzipWithZeros(IdxTestFiles.Labels([], declaredCount: 100), 1024); break;
            case "labels out of range":
                var labels = (byte[])files["trainLabels"].Clone();
                labels[8 + 7] = 12;
                files["trainLabels"] = labels;
                break;
            case "labels for fewer images": files["trainLabels"] = IdxTestFiles.Labels(files["trainLabels"][8..^1]); break;
            case "test images of another size": files["testImages"] = IdxTestFiles.Images(new byte[100 * 400], 20, 20); break;
            case "an empty file": files["testLabels"] = []; break;
            case "a negative count": files["testLabels"] = IdxTestFiles.Labels([], declaredCount: -5); break;
            case "no images": files["trainImages"] = IdxTestFiles.Images([]); break;
            case "a missing file": files.Remove("testLabels"); break;
            case "an unknown part": files["validationImages"] = files["testImages"]; break;
            case "a class count above 256": text["classCount"] = "300"; break;
            default: throw new ArgumentOutOfRangeException(nameof(upload), upload, null);
        }
        var volumeBefore = Uploads.VolumeEntries(Factory.CheckpointRoot);
        var datasetsBefore = (await (await Client.GetAsync("/datasets")).ReadJsonAsync())["items"]!.ToJsonString();

        var response = await Client.PostAsync("/datasets", Uploads.Form(files, text));

        var problem = await response.AssertProblemAsync((HttpStatusCode)status);
        var messages = status == 400
            ? (await response.AssertValidationProblemAsync())[field]
            : [problem["detail"]!.GetValue<string>()];
        Assert.Contains(messages, m => m.Contains(expected, StringComparison.Ordinal) && (status == 400 || m.StartsWith(field + ":", StringComparison.Ordinal)));
        Assert.Equal(volumeBefore, Uploads.VolumeEntries(Factory.CheckpointRoot));
        Assert.Empty(Directory.Exists(StagingFolder) ? Directory.EnumerateFileSystemEntries(StagingFolder) : []);
        Assert.Equal(datasetsBefore, (await (await Client.GetAsync("/datasets")).ReadJsonAsync())["items"]!.ToJsonString());
    }

    private string StagingFolder => Contracts.Datasets.DatasetFolder.Staging(Factory.CheckpointRoot);

    [Fact]
    public async Task A_body_that_is_not_multipart_is_refused_with_415()
    {
        var response = await Client.PostJsonAsync("/datasets", """{ "trainImages": "AAAA" }""");

        var problem = await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("multipart/form-data", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_upload_cut_off_mid_file_leaves_nothing_behind()
    {
        var files = Uploads.MnistSubset(trainCount: 600, testCount: 100);
        var volumeBefore = Uploads.VolumeEntries(Factory.CheckpointRoot);
        var form = Uploads.Form(files);
        var body = await form.ReadAsByteArrayAsync();
        using var cut = new CancellationTokenSource();
        var content = new CutOffContent(body, cutAfter: body.Length / 2, cut);
        content.Headers.ContentType = form.Headers.ContentType;

        await Assert.ThrowsAnyAsync<Exception>(() => Client.PostAsync("/datasets", content, cut.Token));

        // The server notices the abort and removes the staging folder: nothing may stay.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline && (Directory.Exists(StagingFolder) && Directory.EnumerateFileSystemEntries(StagingFolder).Any()))
            await Task.Delay(100);
        Assert.Empty(Directory.Exists(StagingFolder) ? Directory.EnumerateFileSystemEntries(StagingFolder) : []);
        Assert.Equal(volumeBefore, Uploads.VolumeEntries(Factory.CheckpointRoot));
    }

    /// <summary>Sends the first <c>cutAfter</c> bytes of a body, then gives up as a dropped client does.</summary>
    private sealed class CutOffContent(byte[] body, int cutAfter, CancellationTokenSource cut) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, cutAfter));
            await stream.FlushAsync();
            await Task.Delay(200);
            await cut.CancelAsync();
            throw new IOException("The client went away.");
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
