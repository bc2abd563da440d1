using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TrainingService.Api.Security;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Access;
using TrainingService.Contracts.Datasets;
using TrainingService.Contracts.Webhooks;
using Xunit.Abstractions;

namespace TrainingService.Api.Tests;

/// <summary>
/// Issue 4, section 3, and issue 15, section 4: thousands of malformed requests on every endpoint,
/// over sockets to the API on Kestrel, each with the exact answer it must get — its status, the
/// problem <c>type</c> that status has, and for a 400 the field the problem names (or, where the HTTP
/// server itself refuses the bytes before any middleware sees them, Kestrel's bare status). Any other
/// answer fails the sweep: a server that answered 404, or a 400 naming the wrong field, to everything
/// would not pass. Nothing may be stored or queued, and the one real job (finished, with
/// checkpoints) must come through unchanged.
/// </summary>
public abstract class BadInputSweepTests(ApiFactory factory, ITestOutputHelper output)
{
    private readonly HttpClient client = SocketClient(factory);

    /// <summary>
    /// The problem <c>type</c> of each status the API answers bad input with: the section of RFC 9110
    /// (RFC 6585 for 429) that defines the status, as ASP.NET Core's problem-details service sets it.
    /// </summary>
    private static readonly Dictionary<int, string> ProblemTypes = new()
    {
        [400] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        [404] = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        [405] = "https://tools.ietf.org/html/rfc9110#section-15.5.6",
        [413] = "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        [409] = "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        [415] = "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        [429] = "https://tools.ietf.org/html/rfc6585#section-4",
    };

    /// <summary>
    /// The answer a probe must get. A 400 must name (in its <c>errors</c>) one of <paramref name="Named"/>
    /// and nothing outside <paramref name="Named"/> and <paramref name="AlsoAllowed"/> — a name covers
    /// the paths below it (<c>tags</c> covers <c>tags[3]</c>). <paramref name="ByKestrel"/>: the HTTP
    /// server's own bare answer (no body, none of the headers the application adds), given before any
    /// middleware runs.
    /// </summary>
    private sealed record Expect(int Status, IReadOnlyList<string> Named, IReadOnlyList<string> AlsoAllowed, bool ByKestrel = false)
    {
        public static Expect Invalid(params string[] named) => new(400, named, []);
        public static Expect Invalid(IReadOnlyList<string> named, IReadOnlyList<string> alsoAllowed) => new(400, named, alsoAllowed);
        public static readonly Expect NotFound = new(404, [], []);
        public static readonly Expect MethodNotAllowed = new(405, [], []);
        public static readonly Expect Conflict = new(409, [], []);
        public static readonly Expect TooLarge = new(413, [], []);
        public static readonly Expect UnsupportedMediaType = new(415, [], []);
        public static readonly Expect TooMany = new(429, [], []);
        public static Expect Kestrel(int status) => new(status, [], [], ByKestrel: true);

        public override string ToString() => ByKestrel ? $"Kestrel's bare {Status}"
            : Status == 400 ? $"400 naming {string.Join(" or ", Named)}{(AlsoAllowed.Count > 0 ? $" (and perhaps {string.Join(", ", AlsoAllowed)})" : "")}"
            : Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>One malformed request: what it is (for the failure report), how to build it (a request can be sent once), and its answer.</summary>
    private sealed record Probe(string What, Func<HttpRequestMessage> Build, Expect Expected);

    /// <summary>
    /// A client on a socket to the fixture's Kestrel that sends header values as UTF-8 bytes:
    /// HttpClient otherwise refuses to send non-ASCII headers at all, and a hostile client is not so polite.
    /// </summary>
    private static HttpClient SocketClient(ApiFactory factory)
    {
        var address = factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var handler = new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8, AllowAutoRedirect = false };
        return new HttpClient(handler) { BaseAddress = new Uri(address) };
    }

    /// <summary>Where the sweep's key is capped at one unfinished job (the authenticated fixture), a valid submission gets 429.</summary>
    private int UnfinishedJobsCap => factory.Services.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxUnfinishedJobsPerKey;

    [Fact]
    public async Task Every_malformed_request_gets_exactly_its_answer_and_nothing_is_stored_or_queued()
    {
        // With authentication on, every request carries a valid (non-admin) key, so the bad input
        // gets past authentication and through the ownership check to the handlers behind it.
        var authenticated = factory.Services.GetRequiredService<IOptions<AuthOptions>>().Value.IsEnabled;
        if (authenticated)
        {
            var (record, key) = ApiKeys.Create("sweeper", isAdmin: false, DateTimeOffset.UtcNow);
            await factory.Services.GetRequiredService<IApiKeyStore>().CreateApiKeyAsync(record, CancellationToken.None);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        var job = await SeedFinishedJobAsync();
        var sweep = await SeedSweepAsync();
        // At its cap of unfinished jobs (one waiting job), the key's valid submissions get 429.
        var atCap = authenticated && UnfinishedJobsCap == 1;
        if (atCap)
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync("/jobs", ValidTrainJob)).StatusCode);
        var before = await SnapshotAsync(job);

        var probes = Probes(job, sweep, atCap).ToList();
        var failures = new List<string>();
        var statuses = new SortedDictionary<string, int>(StringComparer.Ordinal);
        // A few at a time: the point is coverage, and some parallelism shakes out shared-state bugs too.
        await Parallel.ForEachAsync(probes, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (probe, cancellationToken) =>
        {
            var (answer, problem) = await SendAsync(probe, cancellationToken);
            lock (failures)
            {
                statuses[answer] = statuses.GetValueOrDefault(answer) + 1;
                if (problem is not null)
                    failures.Add($"{probe.What}: expected {probe.Expected}, got {problem}");
            }
        });

        output.WriteLine($"bad-input sweep over {client.BaseAddress}: {probes.Count} malformed requests, each with its expected answer; answers: "
            + string.Join(", ", statuses.Select(s => $"{s.Key} × {s.Value}")));
        Assert.True(failures.Count == 0, $"{failures.Count} of {probes.Count} answers were not the expected ones:\n" + string.Join("\n", failures.Take(40)));
        Assert.True(probes.Count >= 2000, $"Only {probes.Count} requests were generated.");
        Assert.Equal(before, await SnapshotAsync(job));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    private const string ValidTrainJob = """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 2 }, "tags": ["sweep"] }""";

    /// <summary>A finished training job with checkpoints, so odd input reaches the code behind a real id too.</summary>
    private async Task<Guid> SeedFinishedJobAsync()
    {
        var response = await client.PostJsonAsync("/jobs", ValidTrainJob);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
        await new JobDriver(factory).SucceedAsync(id, 2);
        return id;
    }

    /// <summary>A sweep (cancelled at once, so it queues nothing more), so odd query strings reach the code behind a real sweep id.</summary>
    private async Task<Guid> SeedSweepAsync()
    {
        var response = await client.PostJsonAsync("/sweeps",
            """{ "name": "sweep", "maxConcurrent": 1, "base": { "architecture": "convnet", "hyperparameters": { "epochs": 1 } }, "grid": { "seed": [1] } }""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
        Assert.True((await client.PostAsync($"/sweeps/{id}/cancel", null)).IsSuccessStatusCode);
        return id;
    }

    /// <summary>Jobs and sweeps stored, jobs queued in Hangfire, and the seeded job as the API shows it.</summary>
    private async Task<string> SnapshotAsync(Guid job)
    {
        var stored = await factory.Store.ListAsync(new JobQuery(Limit: 100_000), CancellationToken.None);
        var sweeps = await factory.Services.GetRequiredService<ISweepStore>().ListSweepsAsync(new SweepQuery(Limit: 1000), CancellationToken.None);
        var seeded = await (await client.GetAsync($"/jobs/{job}")).Content.ReadAsStringAsync();
        var epochs = await factory.Epochs.GetEpochsAsync(job, 0, CancellationToken.None);
        var datasets = await factory.Services.GetRequiredService<IDatasetStore>().ListDatasetsAsync(owner: null, limit: 1000, CancellationToken.None);
        var webhooks = await factory.Services.GetRequiredService<IWebhookSubscriptionStore>().ListDefaultSubscriptionsAsync(null, allOwners: true, CancellationToken.None);
        var volume = factory.Services.GetRequiredService<IOptions<CheckpointOptions>>().Value.Root;
        var files = Directory.Exists(volume)
            ? string.Join(",", Directory.EnumerateFileSystemEntries(volume, "*", SearchOption.AllDirectories).Select(path => Path.GetRelativePath(volume, path))
                // The uploads' folder and its staging folder, made on the first upload: anything in them counts.
                .Where(path => path is not ("datasets" or "datasets/.staging")).Order(StringComparer.Ordinal))
            : "";
        return $"stored={stored.Count} sweeps={sweeps.Count} datasets={datasets.Count} webhooks={webhooks.Count} volume=[{files}] "
            + $"enqueued={factory.EnqueuedCount()} epochs={epochs.Count} job={seeded}";
    }

    /// <summary>The answer, as "status" or "status type [fields]", and what is wrong with it (null when it is the expected one).</summary>
    private async Task<(string Answer, string? Problem)> SendAsync(Probe probe, CancellationToken cancellationToken)
    {
        using var request = probe.Build();
        using var response = await client.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var expected = probe.Expected;
        // Kestrel's own refusal: no body and none of the headers the application adds to every answer.
        var bare = text.Length == 0 && !response.Headers.Contains("X-Content-Type-Options");
        if (expected.ByKestrel || bare)
        {
            var answer = bare ? $"{status} from Kestrel" : $"{status}";
            return (answer, status == expected.Status && bare == expected.ByKestrel ? null : $"{answer}: {Head(text)}");
        }
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            return ($"{status}", $"{status} as {response.Content.Headers.ContentType?.MediaType ?? "no content type"}: {Head(text)}");
        JsonNode body;
        try
        {
            body = JsonNode.Parse(text)!;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return ($"{status}", $"{status}, not JSON: {Head(text)}");
        }
        var type = body["type"]?.GetValue<string>();
        var named = body["errors"] is JsonObject errors ? errors.Select(e => e.Key).ToList() : [];
        var problemAnswer = $"{status} {type}" + (named.Count > 0 ? $" [{string.Join(", ", named)}]" : "");
        var shortAnswer = status == 400 ? "400 naming a field" : $"{status} problem";
        if (status != expected.Status)
            return (shortAnswer, $"{problemAnswer}: {Head(text)}");
        if (body["status"]?.GetValue<int>() != status || string.IsNullOrWhiteSpace(body["title"]?.GetValue<string>()))
            return (shortAnswer, $"a problem without its status or title: {Head(text)}");
        if (type != ProblemTypes[status])
            return (shortAnswer, $"{problemAnswer}, not type {ProblemTypes[status]}");
        if (status == 400)
        {
            static bool Covers(string name, string key) =>
                key == name || key.StartsWith(name + "[", StringComparison.Ordinal) || key.StartsWith(name + ".", StringComparison.Ordinal);
            var allowed = expected.Named.Concat(expected.AlsoAllowed).ToList();
            if (!named.Any(key => expected.Named.Any(name => Covers(name, key))) || !named.All(key => allowed.Any(name => Covers(name, key))))
                return (shortAnswer, problemAnswer);
        }
        return (shortAnswer, null);
    }

    private static string Head(string text) => text.Length <= 300 ? text : text[..300] + "…";

    // ---- The generator.

    private static IEnumerable<Probe> Probes(Guid job, Guid sweep, bool atCap) =>
        BodyProbes()
            .Concat(RawBodyProbes())
            .Concat(ContentTypeProbes())
            .Concat(PathProbes(job))
            .Concat(QueryAndHeaderProbes(job, sweep))
            .Concat(MethodProbes(job))
            .Concat(SweepProbes())
            .Concat(DatasetProbes())
            .Concat(WebhookProbes())
            .Concat(KestrelLimitProbes(job))
            .Concat(atCap ? CapProbes() : []);

    /// <summary>The four files an upload needs: a 400 for any other fault may name the ones missing too.</summary>
    private static readonly string[] UploadFiles = ["trainImages", "trainLabels", "testImages", "testLabels"];

    /// <summary>
    /// <c>/datasets</c>: uploads that are not multipart, multipart forms wrong in each part (with no
    /// files, so the missing files may be named beside the part at fault), files that are not IDX,
    /// odd ids, a built-in's deletion, and methods the resource lacks.
    /// </summary>
    private static IEnumerable<Probe> DatasetProbes()
    {
        static Probe Upload(string what, Func<HttpContent> content, Expect expected) =>
            new($"POST /datasets {what}", () => new HttpRequestMessage(HttpMethod.Post, "/datasets") { Content = content() }, expected);
        static MultipartFormDataContent Form(params (string Name, HttpContent Part, string? FileName)[] parts)
        {
            var form = new MultipartFormDataContent();
            foreach (var (name, part, fileName) in parts)
            {
                if (fileName is null) form.Add(part, name);
                else form.Add(part, name, fileName);
            }
            return form;
        }
        static Expect Naming(string field) => Expect.Invalid([field], UploadFiles);

        yield return Upload("as JSON", () => Http.Json("{\"trainImages\": \"x\"}"), Expect.UnsupportedMediaType);
        yield return Upload("as text", () => new StringContent("trainImages", Encoding.UTF8, "text/plain"), Expect.UnsupportedMediaType);
        yield return Upload("as a urlencoded form", () => new FormUrlEncodedContent([new("name", "x")]), Expect.UnsupportedMediaType);
        yield return Upload("with no parts", () => Form(), Expect.Invalid("body")); // not even a well-formed multipart body
        foreach (var name in new[] { "", " ", "a\u0001b", new string('n', 201) })
            yield return Upload($"name = {Short(name)}", () => Form(("name", new StringContent(name), null)), Naming("name"));
        foreach (var count in new[] { "", "abc", "1", "257", "-3", "1e3", "10.5", "99999999999999999999" })
            yield return Upload($"classCount = {Short(count)}", () => Form(("classCount", new StringContent(count), null)), Naming("classCount"));
        foreach (var names in new[] { "not json", "{}", "[1, 2]", "[\"a\"]", "[null]" })
            yield return Upload($"classNames = {Short(names)}", () => Form(("classNames", new StringContent(names), null)), Naming("classNames"));
        yield return Upload("an unknown part", () => Form(("evil", new StringContent("x"), null)), Naming("evil"));
        yield return Upload("trainImages twice", () => Form(("trainImages", new ByteArrayContent([0, 0, 8, 3]), "a"), ("trainImages", new ByteArrayContent([0, 0, 8, 3]), "b")), Naming("trainImages"));
        foreach (var (what, bytes) in new (string, byte[])[]
        {
            ("empty", []),
            ("text", Encoding.UTF8.GetBytes("hello, world")),
            ("a labels header", [0, 0, 8, 1, 0, 0, 0, 1, 0]),
            ("a truncated header", [0, 0, 8, 3, 0, 0]),
            ("60,000 images claimed, none sent", [0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]),
            ("a gzip header and garbage", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]),
        })
            yield return Upload($"trainImages {what}", () => Form(("trainImages", new ByteArrayContent(bytes), "train-images-idx3-ubyte")), Naming("trainImages"));
        foreach (var id in new[] { "nope", "00000000-0000-0000-0000-000000000000", Guid.NewGuid().ToString(), "..", "mnist2", new string('a', 300) })
        {
            yield return Get($"/datasets/{Uri.EscapeDataString(id)}", Expect.NotFound);
            yield return new Probe($"DELETE /datasets/{Short(id)}", () => new HttpRequestMessage(HttpMethod.Delete, $"/datasets/{Uri.EscapeDataString(id)}"), Expect.NotFound);
        }
        foreach (var builtIn in new[] { "mnist", "fashion-mnist" })
            yield return new Probe($"DELETE /datasets/{builtIn}", () => new HttpRequestMessage(HttpMethod.Delete, $"/datasets/{builtIn}"), Expect.Conflict);
        yield return new Probe("PUT /datasets", () => new HttpRequestMessage(HttpMethod.Put, "/datasets"), Expect.MethodNotAllowed);
        yield return new Probe("PATCH /datasets/mnist", () => new HttpRequestMessage(HttpMethod.Patch, "/datasets/mnist"), Expect.MethodNotAllowed);
    }

    /// <summary>
    /// <c>/webhooks</c>: subscriptions wrong in one field each, the others valid (a public address
    /// literal, so nothing is resolved), non-object bodies, odd ids.
    /// </summary>
    private static IEnumerable<Probe> WebhookProbes()
    {
        static string Body(string field, string value)
        {
            var fields = new Dictionary<string, string> { ["url"] = "\"https://93.184.216.34/hook\"", ["secret"] = "\"0123456789abcdef0123\"" };
            fields[field] = value;
            return "{" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": {f.Value}")) + "}";
        }
        static Probe Create(string what, string body, Expect expected) =>
            new($"POST /webhooks {what}", () => new HttpRequestMessage(HttpMethod.Post, "/webhooks") { Content = Http.Json(body) }, expected);

        foreach (var url in new[] { "null", "\"\"", "\"ftp://93.184.216.34/\"", "\"hook\"", "\"https://user:pw@93.184.216.34/\"", "\"https://93.184.216.34/#x\"",
                     "\"http://127.0.0.1/\"", "\"http://169.254.169.254/latest/meta-data\"", "\"http://[::1]/\"", "\"http://10.0.0.1/\"", $"\"https://93.184.216.34/{new string('p', 2001)}\"", "42", "[]" })
            yield return Create($"url = {Short(url)}", Body("url", url), Expect.Invalid("url"));
        foreach (var secret in new[] { "null", "\"\"", "\"short\"", "\"with spaces in it, sixteen+\"", $"\"{new string('s', 257)}\"", "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"", "7" })
            yield return Create($"secret = {Short(secret)}", Body("secret", secret), Expect.Invalid("secret"));
        foreach (var events in new[] { "[]", "[\"job.exploded\"]", "[null]", "\"job.succeeded\"", "{}" })
            yield return Create($"events = {Short(events)}", Body("events", events), Expect.Invalid("events"));
        yield return Create("an unknown field", Body("owner", "\"admin\""), Expect.Invalid("owner"));
        foreach (var text in new[] { "", "null", "[]", "\"x\"", "{", "{\"url\": }" })
            yield return Create($"raw {Short(text)}", text, Expect.Invalid("body"));
        foreach (var id in new[] { "nope", "00000000-0000-0000-0000-000000000000", Guid.NewGuid().ToString() })
        {
            yield return Get($"/webhooks/{id}", Expect.NotFound);
            yield return new Probe($"DELETE /webhooks/{Short(id)}", () => new HttpRequestMessage(HttpMethod.Delete, $"/webhooks/{id}"), Expect.NotFound);
        }
    }

    /// <summary>
    /// <c>/sweeps</c>: bodies wrong in each field (each also invalid as a whole: its base job is a train
    /// job with a source, named <c>base.source</c>), non-object bodies, and odd ids. (Parameter sweeps, not this sweep.)
    /// </summary>
    private static IEnumerable<Probe> SweepProbes()
    {
        const string invalidBase = "{\"kind\": \"train\", \"architecture\": \"convnet\", \"source\": {\"jobId\": \"00000000-0000-0000-0000-000000000001\"}}";
        const string validBase = "{\"kind\": \"train\", \"architecture\": \"convnet\"}";
        string Body(string field, string value)
        {
            var fields = new Dictionary<string, string>
            {
                ["name"] = "\"sweep\"",
                ["base"] = invalidBase,
                ["grid"] = "{\"learningRate\": [0.001, 0.002]}",
                ["maxConcurrent"] = "1",
            };
            fields[field] = value;
            return "{" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": {f.Value}")) + "}";
        }
        foreach (var value in BadValues.Concat(NonJsonValues))
        {
            foreach (var field in new[] { "name", "base", "grid", "maxConcurrent" })
            {
                // A base that is not a job (or not an object) leaves nothing to find its source in.
                var guard = field == "base" ? [] : new[] { "base.source" };
                yield return new Probe($"POST /sweeps {field} = {Short(value)}", () => new HttpRequestMessage(HttpMethod.Post, "/sweeps") { Content = Http.Json(Body(field, value)) },
                    FieldAnswer($"sweeps.{field}", field, value, guard));
            }
            // A grid's values are checked against the base only once everything else is valid, so
            // these have a valid base: an invalid value is named by its axis and index. A value the
            // axis accepts would make a sweep: that one gets the invalid base, which alone is named.
            var accepted = AcceptedBy["sweeps.grid.learningRate[0]"].Contains(value);
            var grid = $"{{\"learningRate\": [{value}]}}";
            var body = accepted ? Body("grid", grid) : Body("grid", grid).Replace(invalidBase, validBase, StringComparison.Ordinal);
            yield return new Probe($"POST /sweeps grid.learningRate = [{Short(value)}]", () => new HttpRequestMessage(HttpMethod.Post, "/sweeps") { Content = Http.Json(body) },
                FieldAnswer("sweeps.grid.learningRate[0]", "grid.learningRate", value, ["base.source"]));
        }
        foreach (var (text, answer) in new[]
        {
            ("", Expect.Invalid("body")), ("null", Expect.Invalid("body")), ("[]", Expect.Invalid("body")), ("{", Expect.Invalid("body")),
            (Nested(10_000), Expect.Invalid("body")), ("{\"grid\": {}}", Expect.Invalid("base", "grid")), ("{\"unknown\": 1}", Expect.Invalid("unknown")),
        })
            yield return new Probe($"POST /sweeps raw {Short(text)}", () => new HttpRequestMessage(HttpMethod.Post, "/sweeps") { Content = Http.Json(text) }, answer);
        yield return new Probe("POST /sweeps text/plain", () => new HttpRequestMessage(HttpMethod.Post, "/sweeps") { Content = new StringContent("{}", Encoding.UTF8, "text/plain") },
            Expect.UnsupportedMediaType);
        foreach (var id in new[] { "0", "..%2f..%2fetc", Guid.NewGuid().ToString(), $" {Guid.NewGuid()}", new string('a', 4000), "%ff" })
        {
            yield return Get($"/sweeps/{id}", Expect.NotFound);
            yield return new Probe($"POST /sweeps/{Short(id)}/cancel", () => new HttpRequestMessage(HttpMethod.Post, $"/sweeps/{id}/cancel"), Expect.NotFound);
        }
        foreach (var n in new[] { "-1", "abc", "0", "100000", "1e3" })
            yield return Get($"/sweeps?limit={n}", Expect.Invalid("limit"));
    }

    /// <summary>Values that are wrong for a field of any type, or at least for the field they are put in.</summary>
    private static readonly string[] BadValues =
    [
        "true", "false", "0", "-1", "-2147483649", "2147483648", "9223372036854775808", "-9223372036854775809",
        "1e308", "-1e308", "1e400", "-1e400", "1e-400", "0.5", "-0.0", "123456789012345678901234567890",
        "\"\"", "\" \"", "\"x\"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e400\"", "\"\\u0000\"", "\"\\ud800\"",
        "\"\\udfff\\ud800\"", "\"😀\"", "\"../../etc/passwd\"", "\"<script>alert(1)</script>\"", "\"'; DROP TABLE jobs; --\"",
        $"\"{new string('a', 10_000)}\"", $"\"{new string('é', 30_000)}\"",
        "[]", "[1]", "[\"a\", 1, null, {}]", "{}", "{\"a\": 1}", "[[[[[[[[[[]]]]]]]]]]",
        Nested(200), Nested(63), $"[{string.Join(",", Enumerable.Repeat("1", 5_000))}]",
    ];

    /// <summary>Not JSON at all, put where a value goes: the parser must refuse them, not the server fall over.</summary>
    private static readonly string[] NonJsonValues = ["NaN", "Infinity", "-Infinity", "+1", "01", "0x10", ".5", "1.", "undefined", "'x'", "tru", "nul"];

    /// <summary>Values the reader refuses before any field sees them (deeper than the 16 levels it reads), as it does text that is not JSON.</summary>
    private static readonly string[] TooDeep = [Nested(200), Nested(63)];

    /// <summary>
    /// The values of <see cref="BadValues"/> that a field accepts (the request is refused for its
    /// guard alone): a learning rate of 0.5, a seed of 0, a name that is any printable text. Keyed by
    /// "resource.field path". Every other bad value must be refused naming its field.
    /// </summary>
    private static readonly Dictionary<string, string[]> AcceptedBy = new()
    {
        ["jobs.name"] = ["\"x\"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e400\"", "\"😀\"", "\"../../etc/passwd\"",
            "\"<script>alert(1)</script>\"", "\"'; DROP TABLE jobs; --\""],
        ["jobs.tags"] = ["[]"],
        ["jobs.hyperparameters"] = ["{}"],
        ["jobs.hyperparameters.learningRate"] = ["0.5"],
        ["jobs.hyperparameters.stepGamma"] = ["0.5"],
        ["jobs.hyperparameters.momentum"] = ["0", "-0.0", "0.5", "1e-400"],
        ["jobs.hyperparameters.weightDecay"] = ["0", "-0.0", "0.5", "1e-400"],
        ["jobs.hyperparameters.seed"] = ["0", "2147483648"],
        ["sweeps.name"] = ["\"x\"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e400\"", "\"😀\"", "\"../../etc/passwd\"",
            "\"<script>alert(1)</script>\"", "\"'; DROP TABLE jobs; --\""],
        ["sweeps.grid.learningRate[0]"] = ["0.5"],
    };

    /// <summary>
    /// The answer to a body whose <paramref name="field"/> holds <paramref name="value"/> and which
    /// <paramref name="guards"/> make invalid as a whole: 400 naming <c>body</c> for text that does
    /// not parse; naming only a guard where the field accepts the value; else naming the field (and
    /// perhaps the guards too).
    /// </summary>
    private static Expect FieldAnswer(string key, string field, string value, IReadOnlyList<string> guards)
    {
        if (NonJsonValues.Contains(value) || TooDeep.Contains(value))
            return Expect.Invalid("body");
        if (AcceptedBy.TryGetValue(key, out var accepted) && accepted.Contains(value))
            return Expect.Invalid(guards, []);
        return Expect.Invalid([field], guards);
    }

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    /// <summary>
    /// JSON bodies, each wrong in one field and also invalid as a whole — a train job with a source
    /// (the guard <c>source</c>), or an eval job of a job that does not exist (<c>source.jobId</c>),
    /// asking for epochs, which an eval job takes from its source (<c>hyperparameters.epochs</c>) —
    /// so that a bad value that happens to be acceptable in its field can never make a job: every
    /// request here must be refused, and validation still runs over all of it.
    /// </summary>
    private static IEnumerable<Probe> BodyProbes()
    {
        var missing = Guid.NewGuid();
        string[] topLevel = ["kind", "architecture", "name", "tags", "hyperparameters", "source"];
        string[] hyperparameters = ["epochs", "batchSize", "learningRate", "optimizer", "weightDecay", "momentum", "lrSchedule",
            "stepEpochs", "stepGamma", "seed", "device", "trainSubset"];
        string[] sourceFields = ["jobId", "checkpoint"];
        string[] trainGuards = ["source"];
        string[] evalGuards = ["source.jobId", "hyperparameters.epochs"];

        string Train(string? field = null, string? value = null, string? hyper = null, string? hyperValue = null, string? sourceField = null, string? sourceValue = null)
        {
            var fields = new Dictionary<string, string>
            {
                ["kind"] = "\"train\"",
                ["architecture"] = "\"convnet\"",
                ["hyperparameters"] = Hyper(hyper, hyperValue),
                ["source"] = Source(sourceField, sourceValue),
                ["tags"] = "[\"sweep\"]",
            };
            if (field is not null)
                fields[field] = value!;
            return "{" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": {f.Value}")) + "}";
        }

        string Eval(string? hyper, string? hyperValue, string? sourceField = null, string? sourceValue = null) =>
            $"{{\"kind\": \"eval\", \"hyperparameters\": {Hyper(hyper, hyperValue)}, \"source\": {Source(sourceField, sourceValue)}}}";

        // Epochs once: given twice, the second would be refused as a repeated property instead.
        string Hyper(string? field, string? value) => field is null ? "{\"epochs\": 1}"
            : field == "epochs" ? $"{{\"epochs\": {value}}}"
            : $"{{\"epochs\": 1, \"{field}\": {value}}}";

        string Source(string? field, string? value)
        {
            var fields = new Dictionary<string, string> { ["jobId"] = $"\"{missing}\"", ["checkpoint"] = "\"final\"" };
            if (field is not null)
                fields[field] = value!;
            return "{" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": {f.Value}")) + "}";
        }

        foreach (var value in BadValues.Concat(NonJsonValues))
        {
            foreach (var field in topLevel)
                yield return Post($"{field} = {Short(value)}", Train(field, value),
                    FieldAnswer($"jobs.{field}", field, value, field == "source" ? [] : trainGuards));
            foreach (var field in hyperparameters)
            {
                yield return Post($"hyperparameters.{field} = {Short(value)} (train)", Train(hyper: field, hyperValue: value),
                    FieldAnswer($"jobs.hyperparameters.{field}", $"hyperparameters.{field}", value, trainGuards));
                // An eval job takes every hyperparameter but the device from its source: naming one is an error too.
                yield return Post($"hyperparameters.{field} = {Short(value)} (eval)", Eval(field, value),
                    FieldAnswer($"eval.hyperparameters.{field}", $"hyperparameters.{field}", value, evalGuards));
            }
            foreach (var field in sourceFields)
                yield return Post($"source.{field} = {Short(value)} (eval)", Eval(null, null, field, value),
                    FieldAnswer($"eval.source.{field}", $"source.{field}", value, evalGuards));
        }

        // Unknown and repeated fields, at each level: named where they are.
        yield return Post("unknown top-level field", Train("gpuCount", "4"), Expect.Invalid(["gpuCount"], trainGuards));
        yield return Post("unknown field in hyperparameters", Train(hyper: "dropout", hyperValue: "0.5"), Expect.Invalid(["hyperparameters.dropout", "hyperparameters"], trainGuards));
        yield return Post("unknown field in source", Eval(null, null, "path", "\"/etc/passwd\""), Expect.Invalid(["source.path", "source"], evalGuards));
        yield return Post("__proto__ field", Train("__proto__", "{\"admin\": true}"), Expect.Invalid(["__proto__"], trainGuards));
        yield return Post("owner field", Train("owner", "\"admin\""), Expect.Invalid(["owner"], trainGuards));
        yield return Post("duplicate kind", "{\"kind\": \"train\", \"kind\": \"eval\", \"architecture\": \"convnet\"}", Expect.Invalid("kind"));
        yield return Post("duplicate architecture", "{\"kind\": \"train\", \"architecture\": \"convnet\", \"architecture\": \"resnet18\"}", Expect.Invalid("architecture"));
        yield return Post("duplicate hyperparameter", "{\"kind\": \"train\", \"architecture\": \"convnet\", \"hyperparameters\": {\"epochs\": 1, \"epochs\": 2000}}",
            Expect.Invalid("hyperparameters.epochs", "hyperparameters"));
        yield return Post("case-variant field names", "{\"Kind\": \"train\", \"ARCHITECTURE\": \"convnet\"}", Expect.Invalid(["Kind", "ARCHITECTURE"], ["kind", "architecture"]));
        yield return Post("many unknown fields", "{" + string.Join(", ", Enumerable.Range(0, 3000).Select(i => $"\"f{i}\": {i}")) + "}", Expect.Invalid([.. Enumerable.Range(0, 3000).Select(i => $"f{i}")], []));
        yield return Post("many tags", Train("tags", "[" + string.Join(", ", Enumerable.Range(0, 5000).Select(i => $"\"t{i}\"")) + "]"), Expect.Invalid(["tags"], trainGuards));
        yield return Post("long tag", Train("tags", $"[\"{new string('t', 5000)}\"]"), Expect.Invalid(["tags"], trainGuards));
        yield return Post("null tag", Train("tags", "[null]"), Expect.Invalid(["tags"], trainGuards));
        yield return new Probe("POST /jobs long name", () => new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json(Train("name", $"\"{new string('n', 100_000)}\"")) },
            Expect.TooLarge);
        yield return Post("control characters in name", Train("name", "\"a\\u0001\\u001f\\u007f\""), Expect.Invalid(["name"], trainGuards));
        // Valid in every other way: a job would be stored if the name were let through (PostgreSQL
        // cannot even store a NUL in text).
        yield return Post("a NUL in the name of an otherwise valid job", "{\"kind\": \"train\", \"architecture\": \"convnet\", \"name\": \"a\\u0000b\"}", Expect.Invalid("name"));
        yield return Post("missing kind", "{\"architecture\": \"convnet\"}", Expect.Invalid("kind"));
        yield return Post("missing architecture", "{\"kind\": \"train\"}", Expect.Invalid("architecture"));
        yield return Post("eval without source", "{\"kind\": \"eval\"}", Expect.Invalid("source"));
        foreach (var epoch in new[] { "0", "-1", "1000000", "2147483647", "1.5", "\"epoch-0001/../..\"", "\"../final\"", "\"\"" })
            yield return Post($"eval checkpoint {epoch}", Eval(null, null, "checkpoint", epoch), Expect.Invalid(["source.checkpoint"], evalGuards));
    }

    /// <summary>Bodies that are not a JSON object — empty, truncated, other JSON values, bad bytes, deep nesting — refused naming <c>body</c>; huge ones, 413.</summary>
    private static IEnumerable<Probe> RawBodyProbes()
    {
        string[] texts =
        [
            "", " ", "\n", "null", "true", "0", "\"train\"", "[]", "[{}]", "{", "}", "{\"kind\": ", "{\"kind\": \"train\"",
            "{\"kind\": \"train\",}", "{\"kind\": \"train\"} trailing", "{\"kind\": \"train\"}{}", "// comment\n{}", "/* c */ {}",
            "{'kind': 'train'}", "{kind: \"train\"}", "{\"kind\" \"train\"}", "{\"kind\": \"tr\nain\"}", "{\"a\":1,,\"b\":2}",
            "\uFEFF\uFEFF{}", "{\"kind\": \"train\", \"architecture\": \"convnet\", \"hyperparameters\": {\"epochs\": NaN}}",
            "{\"kind\": \"train\", \"architecture\": \"convnet\", \"hyperparameters\": {\"learningRate\": Infinity}}",
            "{\"kind\": \"train\", \"architecture\": \"convnet\", \"hyperparameters\": {\"learningRate\": -Infinity}}",
            "{\"tags\": " + Nested(100) + "}", "{\"hyperparameters\": " + DeepObject(70) + "}",
            Nested(10_000), DeepObject(5_000),
        ];
        foreach (var text in texts)
            yield return Post($"raw {Short(text)}", text, Expect.Invalid("body"));

        // Invalid UTF-8: lone continuation bytes, an overlong encoding, a truncated sequence, UTF-16 text.
        // Inside a string the reader names the field the string is in; elsewhere, the body.
        (byte[] Bytes, Expect Answer)[] invalid =
        [
            ([0x7B, 0x22, 0x6B, 0x69, 0x6E, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D], Expect.Invalid("kind")),
            ([0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D], Expect.Invalid("name")),
            ([0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xE2, 0x82, 0x22, 0x7D], Expect.Invalid("name")),
            ([0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D], Expect.Invalid("name")),
            ([0x80, 0x81, 0x82], Expect.Invalid("body")),
            ([0x00, 0x00, 0x00, 0x00], Expect.Invalid("body")),
            (Encoding.Unicode.GetBytes("{\"kind\": \"train\", \"architecture\": \"convnet\"}"), Expect.Invalid("body")),
            ([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("{\"kind\": \"train\"}")], Expect.Invalid("body")),
        ];
        foreach (var (bytes, answer) in invalid)
            yield return new Probe($"invalid UTF-8 {Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 12)))}", () => Bytes(HttpMethod.Post, "/jobs", bytes, "application/json"), answer);

        // 10 MB bodies, with and without a Content-Length, valid-looking and not: over the limit, 413.
        var big = "{\"kind\": \"train\", \"architecture\": \"convnet\", \"name\": \"" + new string('x', 10 * 1024 * 1024) + "\"}";
        yield return Post("10 MB JSON", big, Expect.TooLarge);
        yield return new Probe("10 MB JSON, chunked", () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TransferEncodingChunked = true;
            return request;
        }, Expect.TooLarge);
        yield return new Probe("10 MB of zero bytes", () => Bytes(HttpMethod.Post, "/jobs", new byte[10 * 1024 * 1024], "application/json"), Expect.TooLarge);
        // Cancel reads no body: the job is what it answers about.
        yield return new Probe("10 MB to cancel", () => Bytes(HttpMethod.Post, $"/jobs/{Guid.NewGuid()}/cancel", new byte[10 * 1024 * 1024], "application/json"), Expect.NotFound);
    }

    private static string DeepObject(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    /// <summary>A valid body sent as anything but JSON (or with no Content-Type): 415.</summary>
    private static IEnumerable<Probe> ContentTypeProbes()
    {
        const string valid = "{\"kind\": \"train\", \"architecture\": \"convnet\"}";
        string?[] types =
        [
            null, "text/plain", "text/json", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "application/octet-stream", "application/json; charset=latin1", "application/json; charset=utf-16", "application/jsonx",
            "application/problem+xml", "json", "application/", "/json", ";;;", "application/json; charset=\"", "*/*", "image/png",
        ];
        foreach (var type in types)
        {
            yield return new Probe($"content type {type ?? "(none)"}", () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(valid)) };
                if (type is not null)
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
                return request;
            }, Expect.UnsupportedMediaType);
        }
        yield return new Probe("form post", () => new HttpRequestMessage(HttpMethod.Post, "/jobs")
        {
            Content = new FormUrlEncodedContent([new("kind", "train"), new("architecture", "convnet")]),
        }, Expect.UnsupportedMediaType);
    }

    /// <summary>
    /// Odd ids and checkpoint references in every path that takes one: an id that names no job is
    /// 404 (whatever it looks like), a checkpoint reference that cannot be one (not <c>final</c>,
    /// <c>best</c> or an epoch number) is 400 naming <c>reference</c>, one that could be but is not
    /// there is 404. Bare ".." segments are left out: the client resolves them before sending, so they
    /// would ask for a real resource. A NUL (%00) in a path is refused by Kestrel itself, with a bare 400.
    /// </summary>
    private static IEnumerable<Probe> PathProbes(Guid job)
    {
        string[] ids =
        [
            "0", "-1", "1e9", "null", "undefined", "00000000-0000-0000-0000-000000000000", Guid.NewGuid().ToString(), Guid.NewGuid().ToString("N"),
            $"{{{Guid.NewGuid()}}}", $"({Guid.NewGuid()})", Guid.NewGuid().ToString().ToUpperInvariant() + "x", $"{job}0", $" {job}", $"{job}%20",
            "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%ff%fe", "%c0%af", "%e2%82",
            "CON", "aux", "a%20b", "%3Cscript%3E", "%27%20OR%201%3D1%20--", "%25", "%5C..%5C..", new string('a', 4000), new string('9', 400),
            "😀", "%F0%9F%98%80", "ĳ", "0x10",
        ];
        string[] suffixes = ["", "/metrics", "/checkpoints", "/checkpoints/final", "/checkpoints/best/manifest", "/checkpoints/3", "/logs", "/logs?follow=true"];
        foreach (var id in ids)
        {
            foreach (var suffix in suffixes)
                yield return Get($"/jobs/{id}{suffix}", Expect.NotFound);
            yield return Get($"/jobs/{id}?wait=1", Expect.NotFound);
            yield return new Probe($"cancel {Short(id)}", () => new HttpRequestMessage(HttpMethod.Post, $"/jobs/{id}/cancel"), Expect.NotFound);
        }

        string[] malformed =
        [
            "-1", "99999999999999999999", "2147483648", "1e3", "1.5", "0x1", "epoch-0", "epoch-00001", "epoch-0001x", "EPOCH-0001",
            "epoch-0001%2f..", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2fbest", "final.json", "best.json", "manifest.json",
            "model.safetensors", "optimizer.bin", "best%20", "%20final", "Final", "BEST", "latest", "last", "..%5c..%5c",
            "%ff", "😀", new string('1', 2000), new string('x', 4000), ".staging", "epoch-0001.tmp",
        ];
        foreach (var reference in malformed)
        {
            yield return Get($"/jobs/{job}/checkpoints/{reference}", Expect.Invalid("reference"));
            yield return Get($"/jobs/{job}/checkpoints/{reference}/manifest", Expect.Invalid("reference"));
        }
        // Well formed, but the job has no such checkpoint (it has epochs 1 and 2).
        foreach (var reference in new[] { "0", "00", "3", "9999" })
        {
            yield return Get($"/jobs/{job}/checkpoints/{reference}", Expect.NotFound);
            yield return Get($"/jobs/{job}/checkpoints/{reference}/manifest", Expect.NotFound);
        }

        // Not "/jobs/", ".." or "/hangfire/../jobs": the client (and Kestrel) resolve dot segments and a
        // trailing slash matches /jobs, so those arrive as well-formed requests for existing resources.
        foreach (var path in new[] { "/jobs//cancel", "/jobs/%2F", "/job", "/jobs/x/y/z", "/architectures/..%2f..%2fetc",
            "/architectures/" + new string('a', 4000), "/workers/x", "/health/x", "/.env", "/../../etc/passwd", "/swagger/v2/swagger.json" })
            yield return Get(path, Expect.NotFound);
        foreach (var path in new[] { "/jobs/%00", $"/jobs/{job}%00", $"/jobs/{job}/checkpoints/final%00.json", "/%00" })
            yield return Get(path, Expect.Kestrel(400));
    }

    /// <summary>Query strings and headers of every endpoint that takes them, each refused naming the parameter.</summary>
    private static IEnumerable<Probe> QueryAndHeaderProbes(Guid job, Guid sweep)
    {
        string[] numbers = ["-1", "abc", "1e3", "1.5", "99999999999999999999", "0x10", "%20", "NaN", "Infinity", "+5", "--1", new string('9', 1000), "%00", "1,2"];
        foreach (var n in numbers)
        {
            yield return Get($"/jobs?limit={n}", Expect.Invalid("limit"));
            yield return Get($"/jobs/{job}/metrics?sinceEpoch={n}", Expect.Invalid("sinceEpoch"));
            yield return Get($"/jobs/{job}/metrics?limit={n}", Expect.Invalid("limit"));
            yield return Get($"/jobs/{job}/logs?after={n}", Expect.Invalid("after"));
            yield return Get($"/jobs/{job}/logs?limit={n}", Expect.Invalid("limit"));
            yield return Get($"/jobs/{job}/metrics", Expect.Invalid("Last-Event-ID"), ("Last-Event-ID", n), ("Accept", "text/event-stream"));
            yield return Get($"/jobs/{job}/logs?follow=true", Expect.Invalid("Last-Event-ID"), ("Last-Event-ID", n));
            // The long poll of a job and of a sweep (issue 13): whole seconds, 0 to JobsApi:MaxWait.
            yield return Get($"/jobs/{job}?wait={n}", Expect.Invalid("wait"));
            yield return Get($"/sweeps/{sweep}?wait={n}", Expect.Invalid("wait"));
        }
        foreach (var wait in new[] { "301", "86400", "", "1s", "PT1S", "00:00:01" })
        {
            yield return Get($"/jobs/{job}?wait={wait}", Expect.Invalid("wait"));
            yield return Get($"/sweeps/{sweep}?wait={wait}", Expect.Invalid("wait"));
            // A bad wait is refused before the id is looked up.
            yield return Get($"/jobs/{Guid.NewGuid()}?wait={wait}", Expect.Invalid("wait"));
        }
        yield return Get("/jobs?limit=0", Expect.Invalid("limit"));
        yield return Get("/jobs?limit=201", Expect.Invalid("limit"));
        yield return Get($"/jobs/{job}/logs?limit=0", Expect.Invalid("limit"));
        yield return Get($"/jobs/{job}/logs?limit=1001", Expect.Invalid("limit"));
        foreach (var value in new[] { "x", "QUEUED1", "%00", "running,failed", new string('s', 3000), "😀" })
        {
            yield return Get($"/jobs?status={value}", Expect.Invalid("status"));
            yield return Get($"/jobs?kind={value}", Expect.Invalid("kind"));
            yield return Get($"/jobs?architecture={value}", Expect.Invalid("architecture"));
        }
        yield return Get($"/jobs?tag={new string('t', 5000)}", Expect.Invalid("tag"));
        foreach (var flag in new[] { "yes", "1", "TRUEE", "%00", "on" })
            yield return Get($"/jobs/{job}/logs?follow={flag}", Expect.Invalid("follow"));
        foreach (var cursor in new[] { "x", "AAAA", "eyJ9", "%00", new string('A', 5000), Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"createdAt\": \"never\"}")),
            Convert.ToBase64String(Encoding.UTF8.GetBytes("9999999999999999999|" + Guid.NewGuid())), "____", "-_-_", "=" })
            yield return Get($"/jobs?cursor={Uri.EscapeDataString(cursor)}", Expect.Invalid("cursor"));

        const string valid = "{\"kind\": \"train\", \"architecture\": \"convnet\", \"tags\": [\"sweep\"]}";
        // Not "": HttpClient sends no header for an empty value, which makes a valid request. Kestrel
        // passes these bytes on (as UTF-8) and the API names the header.
        foreach (var key in new[] { " ", "ключ", "a b", new string('k', 201), "tab\there", "\u007f", "😀", "\u0001" })
        {
            yield return new Probe($"Idempotency-Key {Short(key)}", () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json(valid) };
                request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
                return request;
            }, Expect.Invalid("Idempotency-Key"));
        }
    }

    /// <summary>Methods no endpoint takes: 405.</summary>
    private static IEnumerable<Probe> MethodProbes(Guid job)
    {
        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch })
        {
            foreach (var path in new[] { "/jobs", $"/jobs/{job}", $"/jobs/{job}/cancel", $"/jobs/{job}/metrics", $"/jobs/{job}/checkpoints/final", "/architectures", "/workers", "/sweeps" })
                yield return new Probe($"{method} {path}", () => new HttpRequestMessage(method, path) { Content = Http.Json("{}") }, Expect.MethodNotAllowed);
        }
        yield return new Probe("GET /jobs/{id}/cancel", () => new HttpRequestMessage(HttpMethod.Get, $"/jobs/{job}/cancel"), Expect.MethodNotAllowed);
        yield return new Probe("POST /jobs/{id}", () => new HttpRequestMessage(HttpMethod.Post, $"/jobs/{job}") { Content = Http.Json("{}") }, Expect.MethodNotAllowed);
        yield return new Probe("POST /jobs/{id}/metrics", () => new HttpRequestMessage(HttpMethod.Post, $"/jobs/{job}/metrics") { Content = Http.Json("{}") }, Expect.MethodNotAllowed);
    }

    /// <summary>
    /// What the HTTP server refuses before the application: a request line longer than Kestrel's
    /// 8 KB (414) and headers beyond its 32 KB in all (431), answered bare.
    /// </summary>
    private static IEnumerable<Probe> KestrelLimitProbes(Guid job)
    {
        yield return Get($"/jobs/{job}?tag={new string('t', 9000)}", Expect.Kestrel(414));
        yield return Get($"/jobs/{job}", Expect.Kestrel(431), ("X-Padding", new string('p', 40_000)));
        yield return Get($"/jobs/{job}", Expect.Kestrel(431), [.. Enumerable.Range(0, 400).Select(i => ($"X-Header-{i}", new string('h', 100)))]);
    }

    /// <summary>The key at its cap of unfinished jobs (Limits:MaxUnfinishedJobsPerKey): a submission valid in every way gets 429 and is not stored.</summary>
    private static IEnumerable<Probe> CapProbes()
    {
        yield return Post("valid job over the unfinished-jobs cap", ValidTrainJob, Expect.TooMany);
        yield return new Probe("POST /jobs valid job with a new Idempotency-Key over the cap", () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json(ValidTrainJob) };
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            return request;
        }, Expect.TooMany);
    }

    // ---- Request builders.

    private static Probe Post(string what, string json, Expect expected) =>
        new($"POST /jobs {what}", () => new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json(json) }, expected);

    private static Probe Get(string path, Expect expected, params (string Name, string Value)[] headers) =>
        new($"GET {Short(path)}{string.Concat(headers.Take(3).Select(h => $" [{h.Name}: {Short(h.Value)}]"))}", () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            foreach (var (name, value) in headers)
                request.Headers.TryAddWithoutValidation(name, value);
            return request;
        }, expected);

    private static HttpRequestMessage Bytes(HttpMethod method, string path, byte[] bytes, string contentType)
    {
        var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return request;
    }

    private static string Short(string text) => text.Length <= 60 ? text : text[..60] + $"…({text.Length} chars)";
}

public sealed class SqliteBadInputSweepTests(SqliteBadInputSweepTests.Factory factory, ITestOutputHelper output)
    : BadInputSweepTests(factory, output), IClassFixture<SqliteBadInputSweepTests.Factory>
{
    /// <summary>
    /// The sweep goes over real sockets to Kestrel on a loopback port, not the in-memory test server: the
    /// bytes are parsed by the HTTP server that runs in production, and its request limits apply.
    /// </summary>
    public sealed class Factory : SqliteApiFactory
    {
        public Factory() => UseKestrel(0);
    }
}

public sealed class PostgresBadInputSweepTests(PostgresBadInputSweepTests.Factory factory, ITestOutputHelper output)
    : BadInputSweepTests(factory, output), IClassFixture<PostgresBadInputSweepTests.Factory>
{
    /// <inheritdoc cref="SqliteBadInputSweepTests.Factory"/>
    public sealed class Factory : PostgresApiFactory
    {
        public Factory() => UseKestrel(0);
    }
}

public sealed class AuthenticatedPostgresBadInputSweepTests(AuthenticatedPostgresBadInputSweepTests.Factory factory, ITestOutputHelper output)
    : BadInputSweepTests(factory, output), IClassFixture<AuthenticatedPostgresBadInputSweepTests.Factory>
{
    /// <summary>
    /// PostgreSQL with authentication on (the production default), the rate limit out of reach and one
    /// unfinished job per key, served by Kestrel as for the other sweeps: the sweep with a key on every
    /// request, and valid submissions over the cap.
    /// </summary>
    public sealed class Factory : PostgresApiFactory
    {
        public Factory() => UseKestrel(0);

        protected override IReadOnlyDictionary<string, string?> ServiceSettings { get; } = new Dictionary<string, string?>
        {
            ["Auth:Enabled"] = "true",
            ["Limits:SubmissionsPerWindow"] = "1000000",
            // One unfinished job per key: the sweep seeds one, and then a valid submission gets 429.
            ["Limits:MaxUnfinishedJobsPerKey"] = "1",
        };
    }
}
