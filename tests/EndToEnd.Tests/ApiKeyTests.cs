using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;
using TrainingService.Tests.Shared;

namespace TrainingService.EndToEnd.Tests;

/// <summary>
/// Authentication as an operator meets it: the API on PostgreSQL with no Auth setting (so on by
/// default), keys made and revoked with the real CLI process, and the logs of both read afterwards
/// for any secret — the key, a wrong key, or the database password.
/// </summary>
public sealed class ApiKeyTests : IAsyncLifetime
{
    private TestDatabase database = null!;
    private ServiceProcess api = null!;
    private HttpClient http = null!;
    private readonly List<string> cliOutput = [];

    public async Task InitializeAsync()
    {
        database = await TestDatabase.CreateAsync();
        var port = ServiceProcess.FreePort();
        api = ServiceProcess.Start(Repository.Program("Api", "TrainingService.Api"), new Dictionary<string, string>
        {
            ["Storage__PostgresConnectionString"] = database.ConnectionString,
            ["Checkpoints__Root"] = Directory.CreateTempSubdirectory("trainingservice-e2e-keys-").FullName,
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        }, "--urls", $"http://127.0.0.1:{port}");
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(2) };

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(api.HasExited, "the API exited:\n" + api.Output);
            try
            {
                if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(500);
        }
        Assert.Fail("the API did not become ready:\n" + api.Output);
    }

    /// <summary>Runs <c>trainingservice keys ...</c> against the test database; returns its exit code and standard output.</summary>
    private async Task<(int ExitCode, string Output)> KeysAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Repository.Program("Cli", "trainingservice"));
        start.ArgumentList.Add("keys");
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["Storage__PostgresConnectionString"] = database.ConnectionString;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        cliOutput.Add(await stdout + await stderr);
        return (process.ExitCode, (await stdout).Trim());
    }

    private HttpRequestMessage Request(HttpMethod method, string url, string? key)
    {
        var request = new HttpRequestMessage(method, url);
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    [Fact]
    public async Task KeysMadeWithTheCliOpenTheApiUntilRevokedAndNoSecretReachesALog()
    {
        var (created, key) = await KeysAsync("create", "--name", "e2e-alice");
        Assert.Equal(0, created);
        Assert.StartsWith("tsk_", key);
        const string wrongKey = "tsk_this-key-was-never-issued-0123456789abcdefghij";

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Request(HttpMethod.Get, "/jobs", null))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Request(HttpMethod.Get, "/jobs", wrongKey))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(Request(HttpMethod.Get, "/jobs", key))).StatusCode);
        var submit = Request(HttpMethod.Post, "/jobs", key);
        submit.Content = JsonContent.Create(new { kind = "train", architecture = "convnet", hyperparameters = new { epochs = 1 } });
        var submitted = await http.SendAsync(submit);
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal("e2e-alice", (await submitted.Content.ReadFromJsonAsync<Dictionary<string, object?>>())!["owner"]!.ToString());
        // A key put where it does not belong, in the query string, must not reach the log either.
        await http.SendAsync(Request(HttpMethod.Get, $"/jobs?cursor={key}", key));

        var (listed, list) = await KeysAsync("list");
        Assert.Equal(0, listed);
        var id = list.Split('\n').Single(line => line.Contains("e2e-alice", StringComparison.Ordinal)).Split(' ')[0];
        Assert.Equal(0, (await KeysAsync("revoke", "--id", id)).ExitCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Request(HttpMethod.Get, "/jobs", key))).StatusCode);

        Assert.Equal(0, await api.StopAsync(TimeSpan.FromSeconds(60)));
        var password = new NpgsqlConnectionStringBuilder(await TestPostgresServer.ConnectionStringAsync()).Password;
        var logs = api.Output + string.Join("\n", cliOutput.Skip(1));
        Assert.Contains("Authentication is ON", api.Output);
        Assert.DoesNotContain(key, logs);
        Assert.DoesNotContain(wrongKey, logs);
        if (!string.IsNullOrEmpty(password))
            Assert.DoesNotContain(password, logs + cliOutput[0]);
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await api.DisposeAsync();
        await database.DisposeAsync();
    }
}
