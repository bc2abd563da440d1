using System.Net;
using System.Text.Json.Nodes;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    private Task AppendLogsAsync(Guid id, params string[] messages) =>
        Factory.Logs.AppendLogsAsync(
            [.. messages.Select((m, i) => new JobLogRecord(0, id, DateTimeOffset.UtcNow, "Information", m, $$"""{"index":{{i}},"jobId":"{{id}}"}"""))],
            CancellationToken.None);

    [Fact]
    public async Task Logs_are_read_in_order_in_pages_with_their_properties()
    {
        var id = await CreateTrainJobAsync();
        await AppendLogsAsync(id, "first", "second", "third");

        var all = await (await Client.GetAsync($"/jobs/{id}/logs")).ReadJsonAsync();
        var items = all["items"]!.AsArray();
        Assert.Equal(["first", "second", "third"], items.Select(i => i!["message"]!.GetValue<string>()));
        Assert.Equal("Information", items[0]!["level"]!.GetValue<string>());
        Assert.Equal(1, items[1]!["properties"]!["index"]!.GetValue<int>());
        Assert.EndsWith("Z", items[0]!["timestamp"]!.GetValue<string>());
        var sequences = items.Select(i => i!["sequence"]!.GetValue<long>()).ToArray();
        Assert.Equal(sequences.Order(), sequences);
        Assert.Equal(sequences[^1], all["nextAfter"]!.GetValue<long>());

        var page = await (await Client.GetAsync($"/jobs/{id}/logs?after={sequences[0]}&limit=1")).ReadJsonAsync();
        Assert.Equal("second", Assert.Single(page["items"]!.AsArray())!["message"]!.GetValue<string>());
        Assert.Equal(sequences[1], page["nextAfter"]!.GetValue<long>());

        var none = await (await Client.GetAsync($"/jobs/{id}/logs?after={sequences[^1]}")).ReadJsonAsync();
        Assert.Empty(none["items"]!.AsArray());
        Assert.Equal(sequences[^1], none["nextAfter"]!.GetValue<long>());
    }

    [Fact]
    public async Task Following_logs_streams_them_until_the_job_ends()
    {
        var id = await CreateTrainJobAsync();
        await AppendLogsAsync(id, "queued");
        var lease = await Driver.StartAsync(id);

        await using var stream = await ServerSentEventsClient.OpenAsync(Client, $"/jobs/{id}/logs?follow=true");
        var first = await stream.NextEventAsync(StreamTimeout);
        Assert.Equal("log", first!.Event);
        Assert.Equal("queued", JsonNode.Parse(first.Data)!["message"]!.GetValue<string>());

        await AppendLogsAsync(id, "epoch 1 done");
        var live = await stream.NextEventAsync(StreamTimeout);
        Assert.Equal("epoch 1 done", JsonNode.Parse(live!.Data)!["message"]!.GetValue<string>());
        Assert.True(long.Parse(live.Id!) > long.Parse(first.Id!));

        await Driver.FinishAsync(id, lease, JobStatus.Succeeded, new JobResult(0.99, 0.03, 0.99, 0.03, 1, null, null));
        var end = await stream.NextEventAsync(StreamTimeout);
        Assert.Equal("end", end!.Event);
        Assert.Equal("succeeded", JsonNode.Parse(end.Data)!["status"]!.GetValue<string>());
        Assert.Null(await stream.NextEventAsync(StreamTimeout));

        // Resuming a finished job's log after its first line gives the rest, then end.
        await using var resumed = await ServerSentEventsClient.OpenAsync(Client, $"/jobs/{id}/logs?follow=true", lastEventId: first.Id);
        Assert.Equal(live.Id, (await resumed.NextEventAsync(StreamTimeout))!.Id);
        Assert.Equal("end", (await resumed.NextEventAsync(StreamTimeout))!.Event);
    }

    [Theory]
    [InlineData("after=-1", "after")]
    [InlineData("after=x", "after")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("follow=maybe", "follow")]
    public async Task Bad_log_parameters_get_400_naming_the_parameter(string query, string parameter)
    {
        var id = await CreateTrainJobAsync();
        Assert.Equal([parameter], (await (await Client.GetAsync($"/jobs/{id}/logs?{query}")).AssertValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task Logs_of_an_unknown_job_get_404()
    {
        await (await Client.GetAsync($"/jobs/{Guid.NewGuid()}/logs")).AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
