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
using Xunit.Abstractions;

namespace TrainingService.Api.Tests;

/// <summary>
/// Issue 4, section 3: thousands of malformed requests on every endpoint, over sockets to the API on
/// Kestrel. Every answer must be a 4xx problem-details response (or, for the few requests Kestrel
/// itself refuses before the application sees them, its bodyless 400); nothing may be stored or
/// queued, and the one real job (finished, with checkpoints) must come through unchanged.
/// </summary>
public abstract class BadInputSweepTests(ApiFactory factory, ITestOutputHelper output)
{
    private readonly HttpClient client = SocketClient(factory);
    private int refusedByKestrel;

    /// <summary>
    /// One malformed request: how to build it (a request can be sent once) and what it is, for the
    /// failure report. <paramref name="KestrelMayRefuse"/>: bytes the HTTP server itself refuses
    /// (non-ASCII in a header, NUL in a path) with a bare 400, before any middleware could answer.
    /// </summary>
    private sealed record Probe(string What, Func<HttpRequestMessage> Build, bool KestrelMayRefuse = false);

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

    [Fact]
    public async Task Every_malformed_request_gets_a_4xx_problem_and_nothing_is_stored_or_queued()
    {
        // With authentication on, every request carries a valid (non-admin) key, so the bad input
        // gets past authentication and through the ownership check to the handlers behind it.
        if (factory.Services.GetRequiredService<IOptions<AuthOptions>>().Value.IsEnabled)
        {
            var (record, key) = ApiKeys.Create("sweeper", isAdmin: false, DateTimeOffset.UtcNow);
            await factory.Services.GetRequiredService<IApiKeyStore>().CreateApiKeyAsync(record, CancellationToken.None);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        var job = await SeedFinishedJobAsync();
        var before = await SnapshotAsync(job);

        var probes = Probes(job).ToList();
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        // A few at a time: the point is coverage, and some parallelism shakes out shared-state bugs too.
        await Parallel.ForEachAsync(probes, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (probe, cancellationToken) =>
        {
            var (status, problem) = await SendAsync(probe, cancellationToken);
            lock (failures)
            {
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (problem is not null)
                    failures.Add($"{probe.What}: {problem}");
            }
        });

        output.WriteLine($"bad-input sweep over {client.BaseAddress}: {probes.Count} malformed requests tried; answers by status: "
            + string.Join(", ", statuses.Select(s => $"{s.Key} × {s.Value}")) + $" ({refusedByKestrel} of the 400s from Kestrel itself)");
        Assert.True(failures.Count == 0, $"{failures.Count} of {probes.Count} answers were not 4xx problem details:\n"
            + string.Join("\n", failures.Take(30)));
        Assert.True(probes.Count >= 2000, $"Only {probes.Count} requests were generated.");
        Assert.Equal(before, await SnapshotAsync(job));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    /// <summary>A finished training job with checkpoints, so odd input reaches the code behind a real id too.</summary>
    private async Task<Guid> SeedFinishedJobAsync()
    {
        var response = await client.PostJsonAsync("/jobs", """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 2 } }""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
        await new JobDriver(factory).SucceedAsync(id, 2);
        return id;
    }

    /// <summary>Jobs stored, jobs queued in Hangfire, and the seeded job as the API shows it.</summary>
    private async Task<string> SnapshotAsync(Guid job)
    {
        var stored = await factory.Store.ListAsync(new JobQuery(Limit: 100_000), CancellationToken.None);
        var seeded = await (await client.GetAsync($"/jobs/{job}")).Content.ReadAsStringAsync();
        var epochs = await factory.Epochs.GetEpochsAsync(job, 0, CancellationToken.None);
        return $"stored={stored.Count} enqueued={factory.EnqueuedCount()} epochs={epochs.Count} job={seeded}";
    }

    /// <summary>The answer's status, and what is wrong with it (null when it is a 4xx problem).</summary>
    private async Task<(int Status, string? Problem)> SendAsync(Probe probe, CancellationToken cancellationToken)
    {
        using var request = probe.Build();
        using var response = await client.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        // Kestrel's own refusal: no body and none of the headers the application adds to every answer.
        if (probe.KestrelMayRefuse && status == 400 && text.Length == 0 && !response.Headers.Contains("X-Content-Type-Options"))
        {
            Interlocked.Increment(ref refusedByKestrel);
            return (status, null);
        }
        if (status is < 400 or > 499)
            return (status, $"{status}: {Head(text)}");
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            return (status, $"{status} as {response.Content.Headers.ContentType?.MediaType ?? "no content type"}: {Head(text)}");
        try
        {
            var body = JsonNode.Parse(text)!;
            if (body["status"]?.GetValue<int>() != status || string.IsNullOrWhiteSpace(body["title"]?.GetValue<string>()))
                return (status, $"{status}, a problem without its status or title: {Head(text)}");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return (status, $"{status}, not JSON: {Head(text)}");
        }
        return (status, null);
    }

    private static string Head(string text) => text.Length <= 300 ? text : text[..300] + "…";

    // ---- The generator.

    private static IEnumerable<Probe> Probes(Guid job)
    {
        foreach (var probe in BodyProbes())
            yield return probe;
        foreach (var probe in RawBodyProbes())
            yield return probe;
        foreach (var probe in ContentTypeProbes())
            yield return probe;
        foreach (var probe in PathProbes(job))
            yield return probe;
        foreach (var probe in QueryAndHeaderProbes(job))
            yield return probe;
        foreach (var probe in MethodProbes(job))
            yield return probe;
        foreach (var probe in SweepProbes())
            yield return probe;
    }

    /// <summary>
    /// <c>/sweeps</c>: bodies wrong in each field (each also invalid as a whole: its base job is a train
    /// job with a source), non-object bodies, and odd ids. (Parameter sweeps, not this sweep.)
    /// </summary>
    private static IEnumerable<Probe> SweepProbes()
    {
        const string invalidBase = "{\"kind\": \"train\", \"architecture\": \"convnet\", \"source\": {\"jobId\": \"00000000-0000-0000-0000-000000000001\"}}";
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
                yield return new Probe($"POST /sweeps {field} = {Short(value)}", () => new HttpRequestMessage(HttpMethod.Post, "/sweeps") { Content = Http.Json(Body(field, value)) });
            yield return new Probe($"POST /sweeps grid.learningRate = [{Short(value)}]", () => new HttpRequestMessage(HttpMethod.Post, "/sweeps")
            {
                Content = Http.Json(Body("grid", $"{{\"learningRate\": [{value}]}}")),
            });
        }
        foreach (var text in new[] { "", "null", "[]", "{", "{\"grid\": {}}", Nested(10_000), "{\"unknown\": 1}" })
            yield return new Probe($"POST /sweeps raw {Short(text)}", () => new HttpRequestMessage(HttpMethod.Post, "/sweeps") { Content = Http.Json(text) });
        yield return new Probe("POST /sweeps text/plain", () => new HttpRequestMessage(HttpMethod.Post, "/sweeps") { Content = new StringContent("{}", Encoding.UTF8, "text/plain") });
        foreach (var id in new[] { "0", "..%2f..%2fetc", Guid.NewGuid().ToString(), $" {Guid.NewGuid()}", new string('a', 4000), "%ff" })
        {
            yield return Get($"/sweeps/{id}");
            yield return new Probe($"POST /sweeps/{Short(id)}/cancel", () => new HttpRequestMessage(HttpMethod.Post, $"/sweeps/{id}/cancel"));
        }
        foreach (var n in new[] { "-1", "abc", "0", "100000", "1e3" })
            yield return Get($"/sweeps?limit={n}");
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

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    /// <summary>
    /// JSON bodies, each wrong in one field and also invalid as a whole (a train job with a source, or an
    /// eval job of a job that does not exist), so that a bad value that happens to be acceptable in its
    /// field can never make a job: every request here must be refused, and validation still runs over all of it.
    /// </summary>
    private static IEnumerable<Probe> BodyProbes()
    {
        var missing = Guid.NewGuid();
        string[] topLevel = ["kind", "architecture", "name", "tags", "hyperparameters", "source"];
        string[] hyperparameters = ["epochs", "batchSize", "learningRate", "optimizer", "weightDecay", "momentum", "lrSchedule",
            "stepEpochs", "stepGamma", "seed", "device", "trainSubset"];
        string[] sourceFields = ["jobId", "checkpoint"];

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

        string Hyper(string? field, string? value) => field is null ? "{\"epochs\": 1}" : $"{{\"epochs\": 1, \"{field}\": {value}}}";

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
                yield return Post($"{field} = {Short(value)}", Train(field, value));
            foreach (var field in hyperparameters)
            {
                yield return Post($"hyperparameters.{field} = {Short(value)} (train)", Train(hyper: field, hyperValue: value));
                yield return Post($"hyperparameters.{field} = {Short(value)} (eval)", Eval(field, value));
            }
            foreach (var field in sourceFields)
                yield return Post($"source.{field} = {Short(value)} (eval)", Eval(null, null, field, value));
        }

        // Unknown and repeated fields, at each level.
        yield return Post("unknown top-level field", Train("gpuCount", "4"));
        yield return Post("unknown field in hyperparameters", Train(hyper: "dropout", hyperValue: "0.5"));
        yield return Post("unknown field in source", Eval(null, null, "path", "\"/etc/passwd\""));
        yield return Post("__proto__ field", Train("__proto__", "{\"admin\": true}"));
        yield return Post("owner field", Train("owner", "\"admin\""));
        yield return Post("duplicate kind", "{\"kind\": \"train\", \"kind\": \"eval\", \"architecture\": \"convnet\"}");
        yield return Post("duplicate architecture", "{\"kind\": \"train\", \"architecture\": \"convnet\", \"architecture\": \"resnet18\"}");
        yield return Post("duplicate hyperparameter", "{\"kind\": \"train\", \"architecture\": \"convnet\", \"hyperparameters\": {\"epochs\": 1, \"epochs\": 2000}}");
        yield return Post("case-variant field names", "{\"Kind\": \"train\", \"ARCHITECTURE\": \"convnet\"}");
        yield return Post("many unknown fields", "{" + string.Join(", ", Enumerable.Range(0, 3000).Select(i => $"\"f{i}\": {i}")) + "}");
        yield return Post("many tags", Train("tags", "[" + string.Join(", ", Enumerable.Range(0, 5000).Select(i => $"\"t{i}\"")) + "]"));
        yield return Post("long tag", Train("tags", $"[\"{new string('t', 5000)}\"]"));
        yield return Post("null tag", Train("tags", "[null]"));
        yield return Post("long name", Train("name", $"\"{new string('n', 100_000)}\""));
        yield return Post("control characters in name", Train("name", "\"a\\u0001\\u001f\\u007f\""));
        yield return Post("missing kind", "{\"architecture\": \"convnet\"}");
        yield return Post("missing architecture", "{\"kind\": \"train\"}");
        yield return Post("eval without source", "{\"kind\": \"eval\"}");
        foreach (var epoch in new[] { "0", "-1", "1000000", "2147483647", "1.5", "\"epoch-0001/../..\"", "\"../final\"", "\"\"" })
            yield return Post($"eval checkpoint {epoch}", Eval(null, null, "checkpoint", epoch));
    }

    /// <summary>Bodies that are not a JSON object: empty, truncated, other JSON values, bad bytes, deep nesting, huge.</summary>
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
            "{\"tags\": " + Nested(100) + "}", "{\"hyperparameters\": " + new string('{', 0) + DeepObject(70) + "}",
            Nested(10_000), DeepObject(5_000),
        ];
        foreach (var text in texts)
            yield return Post($"raw {Short(text)}", text);

        // Invalid UTF-8: lone continuation bytes, an overlong encoding, a truncated sequence, UTF-16 text.
        byte[][] invalid =
        [
            [0x7B, 0x22, 0x6B, 0x69, 0x6E, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D],
            [0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D],
            [0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xE2, 0x82, 0x22, 0x7D],
            [0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D],
            [0x80, 0x81, 0x82],
            [0x00, 0x00, 0x00, 0x00],
            Encoding.Unicode.GetBytes("{\"kind\": \"train\", \"architecture\": \"convnet\"}"),
            [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("{\"kind\": \"train\"}")],
        ];
        foreach (var bytes in invalid)
            yield return new Probe($"invalid UTF-8 {Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 12)))}", () => Bytes(HttpMethod.Post, "/jobs", bytes, "application/json"));

        // 10 MB bodies, with and without a Content-Length, valid-looking and not.
        var big = "{\"kind\": \"train\", \"architecture\": \"convnet\", \"name\": \"" + new string('x', 10 * 1024 * 1024) + "\"}";
        yield return Post("10 MB JSON", big);
        yield return new Probe("10 MB JSON, chunked", () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TransferEncodingChunked = true;
            return request;
        });
        yield return new Probe("10 MB of zero bytes", () => Bytes(HttpMethod.Post, "/jobs", new byte[10 * 1024 * 1024], "application/json"));
        yield return new Probe("10 MB to cancel", () => Bytes(HttpMethod.Post, $"/jobs/{Guid.NewGuid()}/cancel", new byte[10 * 1024 * 1024], "application/json"));
    }

    private static string DeepObject(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

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
            });
        }
        yield return new Probe("form post", () => new HttpRequestMessage(HttpMethod.Post, "/jobs")
        {
            Content = new FormUrlEncodedContent([new("kind", "train"), new("architecture", "convnet")]),
        });
    }

    /// <summary>
    /// Odd ids and checkpoint references in every path that takes one. Bare ".." segments are left out:
    /// the client resolves them before sending, so they would ask for a real resource. A NUL (%00) in a
    /// path is refused by Kestrel itself, with a bare 400, before any middleware runs.
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
                yield return Get($"/jobs/{id}{suffix}");
            yield return new Probe($"cancel {Short(id)}", () => new HttpRequestMessage(HttpMethod.Post, $"/jobs/{id}/cancel"));
        }

        string[] references =
        [
            "0", "-1", "00", "99999999999999999999", "2147483648", "1e3", "1.5", "0x1", "epoch-0", "epoch-00001", "epoch-0001x", "EPOCH-0001",
            "epoch-0001%2f..", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2fbest", "final.json", "best.json", "manifest.json",
            "model.safetensors", "optimizer.bin", "best%20", "%20final", "Final", "BEST", "latest", "last", "..%5c..%5c",
            "%ff", "😀", new string('1', 2000), new string('x', 4000), ".staging", "epoch-0001.tmp",
        ];
        foreach (var reference in references)
        {
            yield return Get($"/jobs/{job}/checkpoints/{reference}");
            yield return Get($"/jobs/{job}/checkpoints/{reference}/manifest");
        }

        // Not "/jobs/", ".." or "/hangfire/../jobs": the client (and Kestrel) resolve dot segments and a
        // trailing slash matches /jobs, so those arrive as well-formed requests for existing resources.
        foreach (var path in new[] { "/jobs//cancel", "/jobs/%2F", "/job", "/jobs/x/y/z", "/architectures/..%2f..%2fetc",
            "/architectures/" + new string('a', 4000), "/workers/x", "/health/x", "/.env", "/../../etc/passwd", "/swagger/v2/swagger.json" })
            yield return Get(path);
        foreach (var path in new[] { "/jobs/%00", $"/jobs/{job}%00", $"/jobs/{job}/checkpoints/final%00.json", "/%00" })
            yield return Get(path) with { KestrelMayRefuse = true };
    }

    private static IEnumerable<Probe> QueryAndHeaderProbes(Guid job)
    {
        string[] numbers = ["-1", "abc", "1e3", "1.5", "99999999999999999999", "0x10", "%20", "NaN", "Infinity", "+5", "--1", new string('9', 1000), "%00", "1,2"];
        foreach (var n in numbers)
        {
            yield return Get($"/jobs?limit={n}");
            yield return Get($"/jobs/{job}/metrics?sinceEpoch={n}");
            yield return Get($"/jobs/{job}/metrics?limit={n}");
            yield return Get($"/jobs/{job}/logs?after={n}");
            yield return Get($"/jobs/{job}/logs?limit={n}");
            yield return Get($"/jobs/{job}/metrics", ("Last-Event-ID", n), ("Accept", "text/event-stream"));
            yield return Get($"/jobs/{job}/logs?follow=true", ("Last-Event-ID", n));
        }
        yield return Get("/jobs?limit=0");
        yield return Get("/jobs?limit=201");
        yield return Get($"/jobs/{job}/logs?limit=0");
        yield return Get($"/jobs/{job}/logs?limit=1001");
        foreach (var value in new[] { "x", "QUEUED1", "%00", "running,failed", new string('s', 3000), "😀" })
        {
            yield return Get($"/jobs?status={value}");
            yield return Get($"/jobs?kind={value}");
            yield return Get($"/jobs?architecture={value}");
        }
        yield return Get($"/jobs?tag={new string('t', 5000)}");
        foreach (var flag in new[] { "yes", "1", "TRUEE", "%00", "on" })
            yield return Get($"/jobs/{job}/logs?follow={flag}");
        foreach (var cursor in new[] { "x", "AAAA", "eyJ9", "%00", new string('A', 5000), Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"createdAt\": \"never\"}")),
            Convert.ToBase64String(Encoding.UTF8.GetBytes("9999999999999999999|" + Guid.NewGuid())), "____", "-_-_", "=" })
            yield return Get($"/jobs?cursor={Uri.EscapeDataString(cursor)}");

        const string valid = "{\"kind\": \"train\", \"architecture\": \"convnet\", \"tags\": [\"sweep\"]}";
        // Not "": HttpClient sends no header for an empty value, which makes a valid request.
        foreach (var key in new[] { " ", "ключ", "a b", new string('k', 201), "tab\there", "\u007f", "😀", "\u0001" })
        {
            yield return new Probe($"Idempotency-Key {Short(key)}", () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json(valid) };
                request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
                return request;
            }, KestrelMayRefuse: !Ascii.IsValid(key) || key.Any(char.IsControl));
        }
    }

    /// <summary>Methods no endpoint takes.</summary>
    private static IEnumerable<Probe> MethodProbes(Guid job)
    {
        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch })
        {
            foreach (var path in new[] { "/jobs", $"/jobs/{job}", $"/jobs/{job}/cancel", $"/jobs/{job}/metrics", $"/jobs/{job}/checkpoints/final", "/architectures", "/workers" })
                yield return new Probe($"{method} {path}", () => new HttpRequestMessage(method, path) { Content = Http.Json("{}") });
        }
        yield return new Probe("GET /jobs/{id}/cancel", () => new HttpRequestMessage(HttpMethod.Get, $"/jobs/{job}/cancel"));
        yield return new Probe("POST /jobs/{id}", () => new HttpRequestMessage(HttpMethod.Post, $"/jobs/{job}") { Content = Http.Json("{}") });
        yield return new Probe("POST /jobs/{id}/metrics", () => new HttpRequestMessage(HttpMethod.Post, $"/jobs/{job}/metrics") { Content = Http.Json("{}") });
    }

    // ---- Request builders.

    private static Probe Post(string what, string json) =>
        new($"POST /jobs {what}", () => new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = Http.Json(json) });

    private static Probe Get(string path, params (string Name, string Value)[] headers) =>
        new($"GET {Short(path)}{string.Concat(headers.Select(h => $" [{h.Name}: {Short(h.Value)}]"))}", () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            foreach (var (name, value) in headers)
                request.Headers.TryAddWithoutValidation(name, value);
            return request;
        });

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
    /// PostgreSQL with authentication on (the production default) and limits out of reach, served by
    /// Kestrel as for the other sweeps: the sweep with a key on every request.
    /// </summary>
    public sealed class Factory : PostgresApiFactory
    {
        public Factory() => UseKestrel(0);

        protected override IReadOnlyDictionary<string, string?> ServiceSettings { get; } = new Dictionary<string, string?>
        {
            ["Auth:Enabled"] = "true",
            ["Limits:SubmissionsPerWindow"] = "1000000",
        };
    }
}
