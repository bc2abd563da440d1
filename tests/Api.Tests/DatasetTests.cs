using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Datasets;
using TrainingService.Tests.Shared;

namespace TrainingService.Api.Tests;

/// <summary>
/// <c>/datasets</c> and a job's <c>dataset</c>: a good upload is stored decompressed and immutable and a
/// job can name it; jobs name built-ins or uploads of a geometry their architecture takes; a dataset in
/// use cannot be deleted. (The hostile uploads are in <c>HostileUploadTests</c>.)
/// </summary>
public abstract partial class ApiContractTests
{
    private async Task<JsonNode> UploadAsync(IReadOnlyDictionary<string, byte[]> files, IReadOnlyDictionary<string, string>? text = null)
    {
        var response = await Client.PostAsync("/datasets", Uploads.Form(files, text));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var dataset = await response.ReadJsonAsync();
        Assert.Equal($"/datasets/{dataset["id"]!.GetValue<string>()}", response.Headers.Location!.OriginalString);
        return dataset;
    }

    [Fact]
    public async Task A_good_upload_is_stored_decompressed_and_read_only_and_a_job_can_train_on_it()
    {
        var raw = Uploads.MnistSubset(trainCount: 600, testCount: 100);
        // Gzip or raw, per part: the content is what counts.
        var sent = new Dictionary<string, byte[]>(raw) { ["trainImages"] = IdxTestFiles.Gzip(raw["trainImages"]) };

        var dataset = await UploadAsync(sent, new Dictionary<string, string> { ["name"] = "first digits" });

        var id = Guid.Parse(dataset["id"]!.GetValue<string>());
        Assert.Equal(id.ToString("D"), dataset["name"]!.GetValue<string>());
        Assert.Equal("first digits", dataset["title"]!.GetValue<string>());
        Assert.False(dataset["builtIn"]!.GetValue<bool>());
        Assert.Equal((28, 28, 1, 10), (dataset["imageRows"]!.GetValue<int>(), dataset["imageColumns"]!.GetValue<int>(), dataset["channels"]!.GetValue<int>(), dataset["classCount"]!.GetValue<int>()));
        Assert.Equal((600, 100), (dataset["trainCount"]!.GetValue<int>(), dataset["testCount"]!.GetValue<int>()));
        Assert.Equal(["convnet", "resnet18", "attention"], dataset["architectures"]!.AsArray().Select(a => a!.GetValue<string>()));
        var files = dataset["files"]!.AsArray();
        string[] sha256s = [.. new[] { "trainImages", "trainLabels", "testImages", "testLabels" }.Select(f => Convert.ToHexStringLower(SHA256.HashData(raw[f])))];
        Assert.Equal(sha256s, files.Select(f => f!["sha256"]!.GetValue<string>()));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(string.Concat(sha256s.Select(s => s + "\n"))))),
            dataset["digest"]!.GetValue<string>());

        // On the volume beside the checkpoints: the decompressed content, read-only, nothing else.
        var folder = DatasetFolder.For(Factory.CheckpointRoot, id);
        Assert.Equal(raw["trainImages"], await File.ReadAllBytesAsync(Path.Combine(folder, IdxFileNames.TrainImages)));
        Assert.Equal(4, Directory.GetFiles(folder).Length);
        foreach (var file in Directory.GetFiles(folder))
        {
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(file));
        }

        // Listed after the built-ins, readable by id, and a job names it by that id.
        var listed = (await (await Client.GetAsync("/datasets")).ReadJsonAsync())["items"]!.AsArray();
        Assert.Equal(["mnist", "fashion-mnist"], listed.Take(2).Select(d => d!["name"]!.GetValue<string>()));
        Assert.Contains(listed, d => d!["name"]!.GetValue<string>() == id.ToString("D"));
        Assert.Equal(dataset.ToJsonString(), (await (await Client.GetAsync($"/datasets/{id}")).ReadJsonAsync()).ToJsonString());

        var job = await GetJobAsync(await CreateTrainJobAsync($$"""{ "kind": "train", "architecture": "attention", "dataset": "{{id:N}}", "hyperparameters": { "trainSubset": 600 } }"""));
        Assert.Equal(id.ToString("D"), job["dataset"]!.GetValue<string>());
        var tooMany = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", $$"""{ "kind": "train", "architecture": "convnet", "dataset": "{{id}}", "hyperparameters": { "trainSubset": 601 } }"""));
        Assert.Contains("has 600 training images", Assert.Single((await tooMany.AssertValidationProblemAsync())["hyperparameters.trainSubset"]));
    }

    [Fact]
    public async Task A_job_names_a_built_in_dataset_or_trains_on_mnist_and_an_unknown_one_is_refused()
    {
        Assert.Equal("mnist", (await GetJobAsync(await CreateTrainJobAsync()))["dataset"]!.GetValue<string>());
        var fashion = await GetJobAsync(await CreateTrainJobAsync("""{ "kind": "train", "architecture": "resnet18", "dataset": "fashion-mnist" }"""));
        Assert.Equal("fashion-mnist", fashion["dataset"]!.GetValue<string>());
        Assert.Equal("fashion-mnist", (await Factory.Store.GetAsync(Guid.Parse(fashion["id"]!.GetValue<string>()), CancellationToken.None))!.Dataset);

        foreach (var (dataset, expected) in new[]
        {
            ("\"cifar10\"", "got 'cifar10'"),
            ("\"MNIST\"", "got 'MNIST'"),
            ($"\"{Guid.NewGuid()}\"", "there is no dataset"),
            ("\"\"", "got ''"),
        })
        {
            var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", $$"""{ "kind": "train", "architecture": "convnet", "dataset": {{dataset}} }"""));
            var message = Assert.Single((await response.AssertValidationProblemAsync())["dataset"]);
            Assert.Contains("mnist, fashion-mnist or the id of an uploaded dataset", message);
            Assert.Contains(expected, message);
        }
        var wrongType = await Client.PostJsonAsync("/jobs", """{ "kind": "train", "architecture": "convnet", "dataset": 7 }""");
        Assert.Contains("dataset", (await wrongType.AssertValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_dataset_of_another_geometry_is_stored_but_no_architecture_trains_on_it_and_the_problem_says_what_they_take()
    {
        // 14×14 images in 26 classes: a valid dataset, for no architecture here.
        var pixels = new byte[20 * 14 * 14];
        Random.Shared.NextBytes(pixels);
        var labels = Enumerable.Range(0, 20).Select(i => (byte)(i % 26)).ToArray();
        var dataset = await UploadAsync(new Dictionary<string, byte[]>
        {
            ["trainImages"] = IdxTestFiles.Images(pixels, 14, 14), ["trainLabels"] = IdxTestFiles.Labels(labels),
            ["testImages"] = IdxTestFiles.Images(pixels[..(5 * 196)], 14, 14), ["testLabels"] = IdxTestFiles.Labels(labels[..5]),
        }, new Dictionary<string, string> { ["classCount"] = "26" });
        Assert.Empty(dataset["architectures"]!.AsArray());
        var id = dataset["id"]!.GetValue<string>();

        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", $$"""{ "kind": "train", "architecture": "convnet", "dataset": "{{id}}" }"""));

        Assert.Equal($"convnet takes 28×28 grey images in 10 classes; dataset {id} has 14×14 grey images in 26 classes.",
            Assert.Single((await response.AssertValidationProblemAsync())["dataset"]));
    }

    [Fact]
    public async Task An_eval_job_evaluates_on_its_sources_dataset_or_another_of_the_same_geometry()
    {
        var source = await CreateTrainJobAsync("""{ "kind": "train", "architecture": "convnet", "dataset": "fashion-mnist", "hyperparameters": { "epochs": 1, "trainSubset": 64 } }""");
        await Driver.SucceedAsync(source, epochs: 1);

        var sameDataset = await CreateEvalAsync($$"""{ "kind": "eval", "source": { "jobId": "{{source}}" } }""");
        Assert.Equal("fashion-mnist", sameDataset["dataset"]!.GetValue<string>());
        var otherDataset = await CreateEvalAsync($$"""{ "kind": "eval", "dataset": "mnist", "source": { "jobId": "{{source}}" } }""");
        Assert.Equal("mnist", otherDataset["dataset"]!.GetValue<string>());

        var unknown = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", $$"""{ "kind": "eval", "dataset": "emnist", "source": { "jobId": "{{source}}" } }"""));
        Assert.Contains("got 'emnist'", Assert.Single((await unknown.AssertValidationProblemAsync())["dataset"]));

        async Task<JsonNode> CreateEvalAsync(string body)
        {
            var response = await Client.PostJsonAsync("/jobs", body);
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
            return await response.ReadJsonAsync();
        }
    }

    [Fact]
    public async Task A_dataset_in_use_cannot_be_deleted_and_once_unused_its_record_and_files_go()
    {
        var dataset = await UploadAsync(Uploads.MnistSubset(trainCount: 50, testCount: 20));
        var id = Guid.Parse(dataset["id"]!.GetValue<string>());
        var job = await CreateTrainJobAsync($$"""{ "kind": "train", "architecture": "convnet", "dataset": "{{id}}" }""");

        var inUse = await (await Client.DeleteAsync($"/datasets/{id}")).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("1 unfinished job(s)", inUse["detail"]!.GetValue<string>());
        Assert.True(Directory.Exists(DatasetFolder.For(Factory.CheckpointRoot, id)));
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync($"/datasets/{id}")).StatusCode);
        var builtIn = await (await Client.DeleteAsync("/datasets/mnist")).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("built in", builtIn["detail"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await Client.PostAsync($"/jobs/{job}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync($"/datasets/{id}")).StatusCode);

        Assert.False(Directory.Exists(DatasetFolder.For(Factory.CheckpointRoot, id)));
        Assert.DoesNotContain(Uploads.VolumeEntries(Factory.CheckpointRoot), e => e.Contains(id.ToString("N")));
        await (await Client.GetAsync($"/datasets/{id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.DeleteAsync($"/datasets/{id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        // The finished job still says what it was to train on; a new one cannot name it.
        Assert.Equal(id.ToString("D"), (await GetJobAsync(job))["dataset"]!.GetValue<string>());
        var gone = await Client.PostJsonAsync("/jobs", $$"""{ "kind": "train", "architecture": "convnet", "dataset": "{{id}}" }""");
        Assert.Contains("there is no dataset", Assert.Single((await gone.AssertValidationProblemAsync())["dataset"]));
    }
}
