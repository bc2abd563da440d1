using TrainingService.Contracts.Datasets;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using TrainingService.Models.Data;

namespace TrainingService.Models.Tests.Data;

public sealed class MnistDownloaderTests : IAsyncLifetime
{
    private readonly string dir = TestPaths.NewTempDirectory();
    private readonly HttpClient http = new();
    private readonly LocalHttpServer server;

    // Gzip archives of each file's content with one byte changed: valid gzip, right size, wrong content.
    private static readonly ConcurrentDictionary<IdxFileInfo, byte[]> altered = new();

    public MnistDownloaderTests() => server = new LocalHttpServer(Reply);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        http.Dispose();
        await server.DisposeAsync();
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Each mirror, named by the first path segment, misbehaves in its own way for every file it
    /// is asked for.
    /// </summary>
    private static HttpReply Reply(string path)
    {
        string[] parts = path.Trim('/').Split('/');
        IdxFileInfo? file = MnistCatalog.All.FirstOrDefault(f => f.GzipName == parts[^1]);
        if (parts.Length != 2 || file is null)
        {
            return HttpReply.NotFound();
        }

        byte[] gzip = RealMnist.Gzip(file);
        int half = gzip.Length / 2;
        return parts[0] switch
        {
            "good" => HttpReply.Ok(gzip),
            "missing" => HttpReply.NotFound(),
            "server-error" => new HttpReply(500, "oops"u8.ToArray(), 4),
            // Truncated bodies: announced as short, announced as complete (a lie), or not announced.
            "half" => HttpReply.Ok(gzip.AsMemory(0, half)),
            "half-lying" => new HttpReply(200, gzip.AsMemory(0, half), gzip.Length),
            "half-unannounced" => new HttpReply(200, gzip.AsMemory(0, half), null),
            // All content present but the gzip trailer cut off; .NET would decompress it without complaint.
            "no-trailer" => HttpReply.Ok(gzip.AsMemory(0, gzip.Length - 8)),
            // Valid gzip, wrong content: another file under this name, or this file altered.
            "swapped" => HttpReply.Ok(RealMnist.Gzip(file == MnistCatalog.TestLabels ? MnistCatalog.TrainLabels : MnistCatalog.TestLabels)),
            "altered" => HttpReply.Ok(altered.GetOrAdd(file, AlteredGzip)),
            "html" => HttpReply.Ok("<html><body>Moved</body></html>"u8.ToArray()),
            _ => HttpReply.NotFound(),
        };
    }

    private static byte[] AlteredGzip(IdxFileInfo file)
    {
        byte[] content = RealMnist.Content(file);
        content[^1] ^= 0x01;
        return IdxFiles.Gzip(content);
    }

    [Fact]
    public async Task DownloadsAllFilesFromAGoodMirror()
    {
        var progress = new RecordingProgress();

        await MnistDownloader.EnsureAsync(dir, [server.Mirror("good")], http, progress);

        AssertHoldsExactlyTheFourArchives();
        Assert.Equal(60_000, MnistLoader.Load(dir, DatasetSplit.Train).Count);
        Assert.Equal(10_000, MnistLoader.Load(dir, DatasetSplit.Test).Count);
        Assert.Equal(4, server.Requests.Count);

        foreach (IdxFileInfo file in MnistCatalog.All)
        {
            var reports = progress.Reports.Where(r => r.FileName == file.GzipName).ToList();
            long size = RealMnist.Gzip(file).Length;
            Assert.NotEmpty(reports);
            Assert.All(reports, r => Assert.Equal(size, r.TotalBytes));
            Assert.All(reports, r => Assert.Equal(new Uri(server.Mirror("good"), file.GzipName), r.Source));
            Assert.Equal(size, reports[^1].BytesReceived);
            Assert.True(reports.Select(r => r.BytesReceived).SequenceEqual(reports.Select(r => r.BytesReceived).Order()));
        }

        // The large file is reported on the way, not just at the end.
        Assert.True(progress.Reports.Count(r => r.FileName == MnistCatalog.TrainImages.GzipName) > 10);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("server-error")]
    [InlineData("half")]
    [InlineData("half-lying")]
    [InlineData("half-unannounced")]
    [InlineData("no-trailer")]
    [InlineData("swapped")]
    [InlineData("altered")]
    [InlineData("html")]
    public async Task FallsBackToTheNextMirrorWhenOneFails(string badMirror)
    {
        var progress = new RecordingProgress();

        await MnistDownloader.EnsureAsync(dir, [server.Mirror(badMirror), server.Mirror("good")], http, progress);

        AssertHoldsExactlyTheFourArchives();
        Assert.Equal(10_000, MnistLoader.Load(dir, DatasetSplit.Test).Count);
        Assert.Equal(60_000, MnistLoader.Load(dir, DatasetSplit.Train).Count);
        foreach (IdxFileInfo file in MnistCatalog.All)
        {
            Assert.Contains($"/{badMirror}/{file.GzipName}", server.Requests);
            Assert.Contains($"/good/{file.GzipName}", server.Requests);
        }

        Assert.Contains(progress.Reports, r => r.Source.AbsolutePath.StartsWith("/good/", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("missing", "HTTP 404")]
    [InlineData("server-error", "HTTP 500")]
    [InlineData("half", "the decompressed content is")]
    [InlineData("half-lying", "ended prematurely")]
    [InlineData("half-unannounced", "the decompressed content is")]
    [InlineData("no-trailer", "incomplete gzip archive")]
    [InlineData("swapped", "the decompressed content is")]
    [InlineData("altered", "checksum mismatch")]
    [InlineData("html", "not a gzip file")]
    public async Task ExplainsWhyAMirrorFailedAndLeavesNothingBehind(string badMirror, string reason)
    {
        var ex = await Assert.ThrowsAsync<DatasetFileException>(
            () => MnistDownloader.EnsureAsync(dir, [server.Mirror(badMirror)], http));

        Assert.Equal(Path.Combine(dir, "train-images-idx3-ubyte.gz"), ex.FilePath);
        Assert.Contains($"{server.Mirror(badMirror)}train-images-idx3-ubyte.gz: ", ex.Message);
        Assert.Contains(reason, ex.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public async Task ReportsEveryMirrorWhenAllFail()
    {
        Uri unreachable = UnusedLocalPort();
        Uri[] mirrors = [server.Mirror("missing"), server.Mirror("half-lying"), server.Mirror("altered"), unreachable];

        var ex = await Assert.ThrowsAsync<DatasetFileException>(() => MnistDownloader.EnsureAsync(dir, mirrors, http));

        Assert.StartsWith("train-images-idx3-ubyte.gz: could not be downloaded from any mirror", ex.Message);
        foreach (Uri mirror in mirrors)
        {
            Assert.Contains($"{mirror}train-images-idx3-ubyte.gz: ", ex.Message);
        }

        Assert.Contains("HTTP 404", ex.Message);
        Assert.Contains("checksum mismatch", ex.Message);
        Assert.Equal(4, Assert.IsType<AggregateException>(ex.InnerException).InnerExceptions.Count);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public async Task DoesNotDownloadFilesThatAreAlreadyValid()
    {
        foreach (IdxFileInfo file in MnistCatalog.All)
        {
            RealMnist.CopyGzip(file, dir);
        }

        await MnistDownloader.EnsureAsync(dir, [server.Mirror("good")], http);

        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task ReplacesOnlyTheFilesThatAreMissingOrInvalid()
    {
        RealMnist.CopyGzip(MnistCatalog.TrainImages, dir);
        // Decompressed copies count as present too.
        File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), RealMnist.Content(MnistCatalog.TrainLabels));
        // A damaged archive (cut short) must be replaced.
        byte[] testLabels = RealMnist.Gzip(MnistCatalog.TestLabels);
        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"), testLabels[..(testLabels.Length / 2)]);

        await MnistDownloader.EnsureAsync(dir, [server.Mirror("good")], http);

        Assert.Equal(["/good/t10k-images-idx3-ubyte.gz", "/good/t10k-labels-idx1-ubyte.gz"], server.Requests.Order());
        Assert.Equal(10_000, MnistLoader.Load(dir, DatasetSplit.Test).Count);
        Assert.Equal(60_000, MnistLoader.Load(dir, DatasetSplit.Train).Count);
    }

    [Fact]
    public async Task CancellationStopsTheDownloadAndRemovesThePartialFile()
    {
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress(r =>
        {
            if (r.BytesReceived > 0)
            {
                cts.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => MnistDownloader.EnsureAsync(dir, [server.Mirror("good"), server.Mirror("good")], http, progress, cts.Token));

        // Cancelling is not a mirror failure: the second mirror is never tried.
        Assert.Single(server.Requests);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    private void AssertHoldsExactlyTheFourArchives() =>
        Assert.Equal(
            MnistCatalog.All.Select(f => f.GzipName).Order(),
            Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order());

    private static Uri UnusedLocalPort()
    {
        // Nothing listens on a port just released by the OS, so connecting is refused.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new Uri($"http://127.0.0.1:{port}/mnist/");
    }

    /// <summary>Records progress synchronously (Progress&lt;T&gt; would post to a thread-pool later).</summary>
    private sealed class RecordingProgress(Action<DownloadProgress>? onReport = null) : IProgress<DownloadProgress>
    {
        private readonly ConcurrentQueue<DownloadProgress> reports = new();

        public IReadOnlyList<DownloadProgress> Reports => reports.ToArray();

        public void Report(DownloadProgress value)
        {
            reports.Enqueue(value);
            onReport?.Invoke(value);
        }
    }
}
