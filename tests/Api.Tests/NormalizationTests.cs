using System.Text.Json.Nodes;
using System.Net;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    [Theory]
    [InlineData("convnet", "none")]
    [InlineData("resnet18", "batch")]
    [InlineData("attention", "layer")]
    public async Task A_job_that_names_no_normalization_gets_and_stores_its_architectures_default(string architecture, string expected)
    {
        var response = await Client.PostJsonAsync("/jobs", TrainBody(architecture));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.ReadJsonAsync();
        Assert.Equal(expected, job["hyperparameters"]!["normalization"]!.GetValue<string>());
        var stored = await Factory.Store.GetAsync(Guid.Parse(job["id"]!.GetValue<string>()), CancellationToken.None);
        Assert.Equal(expected, stored!.Hyperparameters.Normalization.ToString()!.ToLowerInvariant());
    }

    [Theory]
    [InlineData("convnet", "batch", NormalizationKind.Batch)]
    [InlineData("resnet18", "GROUP", NormalizationKind.Group)]
    [InlineData("attention", "none", NormalizationKind.None)]
    [InlineData("attention", "batch", NormalizationKind.Batch)]
    public async Task A_job_can_choose_any_normalization_for_any_architecture(string architecture, string given, NormalizationKind expected)
    {
        var response = await Client.PostJsonAsync("/jobs", TrainBody(architecture, $$"""{ "normalization": "{{given}}", "epochs": 1 }"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.ReadJsonAsync();
        Assert.Equal(expected.ToString().ToLowerInvariant(), job["hyperparameters"]!["normalization"]!.GetValue<string>());
        var stored = await Factory.Store.GetAsync(Guid.Parse(job["id"]!.GetValue<string>()), CancellationToken.None);
        Assert.Equal(ArchitectureCatalog.Get(architecture).Defaults with { Normalization = expected, Epochs = 1 }, stored!.Hyperparameters);
    }

    [Theory]
    [InlineData("\"instance\"")]
    [InlineData("\"2\"")]
    [InlineData("\"batch,layer\"")]
    [InlineData("\"\"")]
    [InlineData("2")]
    public async Task An_unknown_normalization_gets_400_naming_the_field_and_listing_the_values(string value)
    {
        var response = await AssertNothingStoredAsync(() =>
            Client.PostJsonAsync("/jobs", TrainBody("convnet", $$"""{ "normalization": {{value}} }""")));

        var errors = await response.AssertValidationProblemAsync();
        var message = Assert.Single(Assert.Contains("hyperparameters.normalization", errors));
        if (value.StartsWith('"'))
            Assert.Contains("batch, layer, group, none", message);
        Assert.Single(errors);
    }

    [Fact]
    public async Task An_eval_job_uses_its_sources_normalization_and_may_not_choose_another()
    {
        var source = await CreateTrainJobAsync(TrainBody("convnet", """{ "epochs": 1, "normalization": "group" }"""));
        await Driver.SucceedAsync(source, epochs: 1);

        var response = await Client.PostJsonAsync("/jobs", $$"""{ "kind": "eval", "source": { "jobId": "{{source}}" } }""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("group", (await response.ReadJsonAsync())["hyperparameters"]!["normalization"]!.GetValue<string>());

        var refused = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs",
            $$"""{ "kind": "eval", "source": { "jobId": "{{source}}" }, "hyperparameters": { "normalization": "layer" } }"""));
        Assert.Equal(["hyperparameters.normalization"], (await refused.AssertValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Architectures_list_every_normalization_with_its_parameter_count_and_the_default()
    {
        var list = (await (await Client.GetAsync("/architectures")).ReadJsonAsync()).AsArray();

        foreach (var (node, info) in list.Zip(ArchitectureCatalog.All))
        {
            var variants = node!["normalizations"]!.AsArray();
            Assert.Equal(["batch", "layer", "group", "none"], variants.Select(v => v!["normalization"]!.GetValue<string>()));
            Assert.Equal(info.ParameterCounts.Values.Order(), variants.Select(v => v!["parameterCount"]!.GetValue<long>()).Order());
            var single = Assert.Single(variants, v => v!["isDefault"]!.GetValue<bool>());
            Assert.Equal(single!["normalization"]!.GetValue<string>(), node["defaultHyperparameters"]!["normalization"]!.GetValue<string>());
            Assert.Equal(info.ParameterCount, single["parameterCount"]!.GetValue<long>());
        }
        var convnet = list[0]!["normalizations"]!.AsArray();
        Assert.Equal(390_858, convnet.Single(v => v!["normalization"]!.GetValue<string>() == "batch")!["parameterCount"]!.GetValue<long>());
        Assert.Equal("none", list[0]!["defaultHyperparameters"]!["normalization"]!.GetValue<string>());
        Assert.Equal("batch", list[1]!["defaultHyperparameters"]!["normalization"]!.GetValue<string>());
        Assert.Equal("layer", list[2]!["defaultHyperparameters"]!["normalization"]!.GetValue<string>());
    }

    [Fact]
    public async Task Submissions_responses_and_architectures_share_one_hyperparameters_schema()
    {
        var document = await (await Client.GetAsync("/swagger/v1/swagger.json")).ReadJsonAsync();
        var schemas = document["components"]!["schemas"]!;
        static string Reference(JsonNode property) => (property["$ref"] ?? property["allOf"]![0]!["$ref"])!.GetValue<string>();

        Assert.Equal("#/components/schemas/Hyperparameters", Reference(schemas["CreateJobRequest"]!["properties"]!["hyperparameters"]!));
        Assert.Equal("#/components/schemas/Hyperparameters", Reference(schemas["JobResponse"]!["properties"]!["hyperparameters"]!));
        Assert.Equal("#/components/schemas/Hyperparameters", Reference(schemas["ArchitectureResponse"]!["properties"]!["defaultHyperparameters"]!));
        var fields = schemas["Hyperparameters"]!["properties"]!.AsObject().Select(p => p.Key);
        Assert.Equal(["epochs", "batchSize", "learningRate", "optimizer", "weightDecay", "momentum", "lrSchedule", "stepEpochs",
            "stepGamma", "seed", "device", "normalization", "trainSubset"], fields);
    }

    [Fact]
    public async Task The_openapi_document_lists_the_normalization_values()
    {
        var document = await (await Client.GetAsync("/swagger/v1/swagger.json")).ReadJsonAsync();
        var schemas = document["components"]!["schemas"]!;

        var request = schemas["Hyperparameters"]!["properties"]!["normalization"]!;
        Assert.Contains("batch", request["description"]!.GetValue<string>());
        Assert.Contains("group", request["description"]!.GetValue<string>());
        var values = schemas["NormalizationKind"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>());
        Assert.Equal(["batch", "layer", "group", "none"], values);
    }
}
