using System.Net;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.Api.Tests;

/// <summary>
/// Callbacks and default subscriptions as submitted, against the API with its defaults — private
/// addresses not allowed — over real HTTP: every URL that would make the service call into its own
/// network is refused with a 400 naming the field and saying why, as are other bad URLs and secrets,
/// and nothing is stored. The same URLs are accepted once <c>Webhooks:AllowPrivateAddresses</c> is on.
/// </summary>
public sealed class WebhookValidationTests(WebhookValidationTests.StrictApi fixture) : IClassFixture<WebhookValidationTests.StrictApi>
{
    private const string Secret = "whsec-0123456789abcdef0123456789";

    /// <summary>The API with the webhook settings at their defaults, on the embedded store.</summary>
    public sealed class StrictApi : IAsyncLifetime
    {
        public RestartableApi Api { get; private set; } = null!;
        public RestartableApi.Host Host { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Api = await RestartableApi.CreateAsync(postgres: false);
            Host = Api.Start(new Dictionary<string, string?>());
        }

        public async Task DisposeAsync() => await Api.DisposeAsync();
    }

    private HttpClient Client => fixture.Host.CreateClient();

    private static string Job(string callback) =>
        $$"""{ "kind": "train", "architecture": "convnet", "callback": {{callback}} }""";

    private static string CallbackTo(string url) => $$"""{ "url": "{{url}}", "secret": "{{Secret}}" }""";

    private async Task<int> JobCountAsync() =>
        (await (await Client.GetAsync("/jobs?limit=200")).ReadJsonAsync())["items"]!.AsArray().Count;

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address")]
    [InlineData("http://127.8.9.10/hook", "127.8.9.10 is a loopback address")]
    [InlineData("http://10.1.2.3/hook", "10.1.2.3 is a private address")]
    [InlineData("http://172.20.0.5/hook", "172.20.0.5 is a private address")]
    [InlineData("https://192.168.1.10/hook", "192.168.1.10 is a private address")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address")]
    [InlineData("http://100.100.100.200/", "100.100.100.200 is a shared (carrier-grade NAT) address")]
    [InlineData("http://0.0.0.0:8080/", "0.0.0.0 is an unspecified (this-network) address")]
    [InlineData("http://224.0.0.1/", "224.0.0.1 is a multicast address")]
    [InlineData("http://[::1]:8080/hook", "::1 is a loopback address")]
    [InlineData("http://[fe80::1]/hook", "fe80::1 is a link-local address")]
    [InlineData("http://[fd00::5]/hook", "fd00::5 is a private (unique local) address")]
    [InlineData("http://[::ffff:10.0.0.1]/hook", "10.0.0.1 is a private address")]
    [InlineData("http://2130706433/hook", "127.0.0.1 is a loopback address")]
    [InlineData("http://localhost:8080/hook", "localhost resolves to")]
    public async Task A_callback_to_a_non_public_address_is_refused_naming_the_field_and_the_setting(string url, string why)
    {
        var before = await JobCountAsync();

        var errors = await (await Client.PostJsonAsync("/jobs", Job(CallbackTo(url)))).AssertValidationProblemAsync();

        var message = Assert.Single(Assert.Single(errors, e => e.Key == "callback.url").Value);
        Assert.Contains(why, message);
        Assert.Contains("Webhooks:AllowPrivateAddresses=true", message);
        Assert.Equal(before, await JobCountAsync());
        // The same rule for default subscriptions and sweeps.
        Assert.Contains("url", (await (await Client.PostJsonAsync("/webhooks", CallbackTo(url))).AssertValidationProblemAsync()).Keys);
        var sweep = $$"""{ "base": { "architecture": "convnet" }, "grid": { "seed": [1] }, "callback": {{CallbackTo(url)}} }""";
        Assert.Contains("callback.url", (await (await Client.PostJsonAsync("/sweeps", sweep)).AssertValidationProblemAsync()).Keys);
    }

    [Theory]
    [InlineData("ftp://example.com/hook", "absolute http or https URL")]
    [InlineData("file:///etc/passwd", "absolute http or https URL")]
    [InlineData("/relative/hook", "absolute http or https URL")]
    [InlineData("https://user:password@203.0.113.7/hook", "user name or password")]
    [InlineData("https://203.0.113.7/hook#top", "fragment")]
    public async Task A_callback_url_that_is_not_plain_http_is_refused(string url, string why)
    {
        var errors = await (await Client.PostJsonAsync("/jobs", Job(CallbackTo(url)))).AssertValidationProblemAsync();

        Assert.Contains(why, Assert.Single(errors["callback.url"]));
    }

    [Fact]
    public async Task A_missing_or_weak_secret_and_unknown_fields_are_refused_with_the_rest_of_the_job()
    {
        var errors = await (await Client.PostJsonAsync("/jobs",
            """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 0 }, "callback": { "url": "https://203.0.113.7/hook" } }""")).AssertValidationProblemAsync();
        Assert.Contains("callback.secret", errors.Keys);
        Assert.Contains("hyperparameters.epochs", errors.Keys); // one answer reports everything

        foreach (var secret in new[] { "short", "has a space in it, sixteen+", new string('x', 257) })
        {
            errors = await (await Client.PostJsonAsync("/jobs", Job($$"""{ "url": "https://203.0.113.7/hook", "secret": "{{secret}}" }"""))).AssertValidationProblemAsync();
            Assert.Equal(["callback.secret"], errors.Keys);
        }
        errors = await (await Client.PostJsonAsync("/jobs", Job($$"""{ "url": "https://203.0.113.7/hook", "secret": "{{Secret}}", "headers": {} }"""))).AssertValidationProblemAsync();
        Assert.Contains("callback.headers", errors.Keys);
    }

    [Fact]
    public async Task A_public_address_is_accepted_with_the_default_settings()
    {
        var response = await Client.PostJsonAsync("/jobs", Job(CallbackTo("https://203.0.113.7:8443/hooks/training?team=ml")));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.DoesNotContain(Secret, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Default_subscriptions_name_known_event_types_and_sweeps_put_their_callback_on_the_sweep()
    {
        var errors = await (await Client.PostJsonAsync("/webhooks",
            $$"""{ "url": "https://203.0.113.7/hook", "secret": "{{Secret}}", "events": ["job.failed", "job.exploded"] }""")).AssertValidationProblemAsync();
        Assert.Equal(["events[1]"], errors.Keys);
        errors = await (await Client.PostJsonAsync("/webhooks", $$"""{ "url": "https://203.0.113.7/hook", "secret": "{{Secret}}", "events": [] }""")).AssertValidationProblemAsync();
        Assert.Equal(["events"], errors.Keys);

        var sweep = $$"""{ "base": { "architecture": "convnet", "callback": {{CallbackTo("https://203.0.113.7/hook")}} }, "grid": { "seed": [1] } }""";
        errors = await (await Client.PostJsonAsync("/sweeps", sweep)).AssertValidationProblemAsync();
        Assert.Equal(["base.callback"], errors.Keys);
    }

    [Fact]
    public async Task The_documented_csharp_check_is_the_one_the_tests_verify_signatures_with()
    {
        var source = await File.ReadAllTextAsync(Path.Combine(TestData.RepositoryRoot, "tests", "Api.Tests", "Infrastructure", "WebhookVerification.cs"));
        var tested = source[(source.IndexOf("// docs:start", StringComparison.Ordinal) + "// docs:start".Length)..source.IndexOf("// docs:end", StringComparison.Ordinal)];

        Assert.Equal(Normalize(tested), Normalize(WebhookDocs.CSharpCheck()));

        static string Normalize(string code) => string.Join("\n", code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
    }

    [Fact]
    public async Task With_private_addresses_allowed_a_loopback_callback_is_accepted()
    {
        await using var allowing = fixture.Api.Start(new Dictionary<string, string?> { ["Webhooks:AllowPrivateAddresses"] = "true" });

        var response = await allowing.CreateClient().PostJsonAsync("/jobs", Job(CallbackTo("http://127.0.0.1:8080/hook")));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
