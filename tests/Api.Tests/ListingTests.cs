using System.Net;
using System.Text.Json.Nodes;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    private async Task<List<JsonNode>> ListAllAsync(string query)
    {
        var items = new List<JsonNode>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var url = $"/jobs?{query}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var response = await Client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.ReadJsonAsync();
            items.AddRange(page["items"]!.AsArray().Select(i => i!));
            cursor = page["nextCursor"]?.GetValue<string>();
            Assert.True(++pages < 100, "Paging does not end.");
        }
        while (cursor is not null);
        return items;
    }

    [Fact]
    public async Task Listing_pages_newest_first_with_a_cursor_until_null()
    {
        var tag = NewTag();
        var created = new List<Guid>();
        for (var i = 0; i < 5; i++)
            created.Add(await CreateTrainJobAsync(TrainBody(tag: tag)));

        var first = await (await Client.GetAsync($"/jobs?tag={tag}&limit=2")).ReadJsonAsync();
        Assert.Equal(2, first["items"]!.AsArray().Count);
        Assert.NotNull(first["nextCursor"]);

        var all = await ListAllAsync($"tag={tag}&limit=2");
        created.Reverse();
        Assert.Equal(created, all.Select(j => Guid.Parse(j["id"]!.GetValue<string>())));

        // A page that ends exactly at the last job says so: no empty trailing page.
        var exact = await (await Client.GetAsync($"/jobs?tag={tag}&limit=5")).ReadJsonAsync();
        Assert.Equal(5, exact["items"]!.AsArray().Count);
        Assert.Null(exact["nextCursor"]);
    }

    [Fact]
    public async Task Listing_filters_by_status_architecture_kind_and_tag()
    {
        var tag = NewTag();
        var convnet = await CreateTrainJobAsync(TrainBody("convnet", tag: tag));
        var resnet = await CreateTrainJobAsync(TrainBody("resnet18", tag: tag));
        await Driver.SucceedAsync(convnet, 1);
        var eval = await Client.PostJsonAsync("/jobs", $$"""{ "kind": "eval", "source": { "jobId": "{{convnet}}" }, "tags": ["{{tag}}"] }""");
        var evalId = Guid.Parse((await eval.ReadJsonAsync())["id"]!.GetValue<string>());

        async Task<Guid[]> Ids(string filter) =>
            [.. (await ListAllAsync($"tag={tag}&{filter}")).Select(j => Guid.Parse(j["id"]!.GetValue<string>()))];

        Assert.Equal([evalId, resnet, convnet], await Ids("limit=50"));
        Assert.Equal([convnet], await Ids("status=succeeded"));
        Assert.Equal([evalId, resnet], await Ids("status=queued"));
        Assert.Equal([resnet], await Ids("architecture=resnet18"));
        Assert.Equal([evalId], await Ids("kind=eval"));
        Assert.Equal([resnet, convnet], await Ids("kind=train"));
        Assert.Equal([evalId, convnet], await Ids("architecture=convnet"));
        Assert.Empty(await Ids("status=running"));
        Assert.Empty(await ListAllAsync($"tag={NewTag()}"));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=201", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("limit=-1", "limit")]
    [InlineData("status=done", "status")]
    [InlineData("architecture=vgg16", "architecture")]
    [InlineData("kind=finetune", "kind")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("cursor=djJ8MXwy", "cursor")]
    public async Task Bad_list_parameters_get_400_naming_the_parameter(string query, string parameter)
    {
        var errors = await (await Client.GetAsync($"/jobs?{query}")).AssertValidationProblemAsync();
        Assert.Equal([parameter], errors.Keys);
    }

    [Fact]
    public async Task Getting_a_job_that_does_not_exist_gives_404_problem_details()
    {
        foreach (var id in new[] { Guid.NewGuid().ToString(), "not-a-guid", "42", "..%2F..%2Fetc" })
        {
            var problem = await (await Client.GetAsync($"/jobs/{id}")).AssertProblemAsync(HttpStatusCode.NotFound);
            Assert.StartsWith("/jobs/", problem["instance"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Unknown_urls_and_methods_answer_with_problem_details()
    {
        await (await Client.GetAsync("/nothing-here")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.DeleteAsync($"/jobs/{Guid.NewGuid()}")).AssertProblemAsync(HttpStatusCode.MethodNotAllowed);
    }
}
