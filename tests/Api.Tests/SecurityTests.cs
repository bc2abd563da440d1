using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Access;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Tests;

/// <summary>
/// Authentication, ownership, limits and headers (issue 4, section 2), with authentication on, on
/// each backend. Every test makes its own keys under names of its own, so the per-key rate limit
/// and the per-owner cap of one test never touch another's.
/// </summary>
public abstract class SecurityTests(ApiFactory factory)
{
    public const string BootstrapAdminKey = "tsk_bootstrap-admin-key-for-the-security-tests-0123456789";

    private const int RateLimit = 5;
    private const int Cap = 2;

    private readonly HttpClient client = factory.CreateClient();

    private static string TrainBody(string tag = "security") =>
        $$"""{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 1 }, "tags": ["{{tag}}"] }""";

    /// <summary>A new key under a name unique to the calling test, as <c>trainingservice keys create</c> makes one.</summary>
    private async Task<(string Key, string Name)> NewKeyAsync(string role, bool admin = false)
    {
        var name = $"{role}-{Guid.NewGuid():N}"[..20];
        var (record, key) = ApiKeys.Create(name, admin, DateTimeOffset.UtcNow);
        await factory.Services.GetRequiredService<IApiKeyStore>().CreateApiKeyAsync(record, CancellationToken.None);
        return (key, name);
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? key, string? json = null, bool asBearer = true, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (json is not null)
            request.Content = Http.Json(json);
        if (key is not null)
        {
            if (asBearer)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            else
                request.Headers.Add("X-Api-Key", key);
        }
        if (idempotencyKey is not null)
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        return client.SendAsync(request);
    }

    private async Task<Guid> SubmitAsync(string key, string? body = null)
    {
        var response = await SendAsync(HttpMethod.Post, "/jobs", key, body ?? TrainBody());
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
    }

    private async Task<List<Guid>> ListAsync(string key, string tag)
    {
        var response = await SendAsync(HttpMethod.Get, $"/jobs?tag={tag}&limit=200", key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["items"]!.AsArray().Select(j => Guid.Parse(j!["id"]!.GetValue<string>())).ToList();
    }

    [Fact]
    public async Task Without_a_key_every_jobs_endpoint_answers_401_problem_details_with_WWW_Authenticate_and_stores_nothing()
    {
        var (owner, _) = await NewKeyAsync("owner");
        var job = await SubmitAsync(owner);
        var before = await factory.Store.ListAsync(new JobQuery(Limit: 10_000), CancellationToken.None);

        (HttpMethod, string)[] endpoints =
        [
            (HttpMethod.Post, "/jobs"), (HttpMethod.Get, "/jobs"), (HttpMethod.Get, $"/jobs/{job}"),
            (HttpMethod.Post, $"/jobs/{job}/cancel"), (HttpMethod.Get, $"/jobs/{job}/metrics"),
            (HttpMethod.Get, $"/jobs/{job}/checkpoints"), (HttpMethod.Get, $"/jobs/{job}/checkpoints/final"),
            (HttpMethod.Get, $"/jobs/{job}/checkpoints/final/manifest"), (HttpMethod.Get, $"/jobs/{job}/logs"),
            (HttpMethod.Get, $"/jobs/{job}/plot.png"), (HttpMethod.Get, "/metrics"),
        ];
        foreach (var (method, url) in endpoints)
        {
            var response = await SendAsync(method, url, key: null, json: method == HttpMethod.Post ? TrainBody() : null);
            var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Equal("Authentication required", problem["title"]!.GetValue<string>());
            Assert.StartsWith("Bearer realm=\"TrainingService\"", response.Headers.WwwAuthenticate.ToString());
        }

        var after = await factory.Store.ListAsync(new JobQuery(Limit: 10_000), CancellationToken.None);
        Assert.Equal(before.Count, after.Count);
        Assert.Equal(JobStatus.Queued, (await factory.Store.GetAsync(job, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task The_bootstrap_admin_key_from_configuration_is_stored_once_as_a_hash_and_acts_as_an_admin()
    {
        var (alice, _) = await NewKeyAsync("alice");
        var alicesJob = await SubmitAsync(alice);

        var asAdmin = await SendAsync(HttpMethod.Get, $"/jobs/{alicesJob}", BootstrapAdminKey);

        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
        var keys = await factory.Services.GetRequiredService<IApiKeyStore>().ListApiKeysAsync(CancellationToken.None);
        var bootstrap = Assert.Single(keys, k => k.Name == "bootstrap-admin");
        Assert.True(bootstrap.IsAdmin);
        Assert.Equal(ApiKeys.Hash(BootstrapAdminKey), bootstrap.KeySha256);
        Assert.DoesNotContain(keys, k => k.KeySha256.Contains(BootstrapAdminKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_jobs_plot_is_its_owners_and_the_service_metrics_need_an_admin_key()
    {
        var (owner, _) = await NewKeyAsync("owner");
        var (other, _) = await NewKeyAsync("other");
        var (admin, _) = await NewKeyAsync("admin", admin: true);
        var job = await SubmitAsync(owner);

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/jobs/{job}/plot.png", owner)).StatusCode);
        await (await SendAsync(HttpMethod.Get, $"/jobs/{job}/plot.png", other)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await SendAsync(HttpMethod.Get, "/metrics", owner)).AssertProblemAsync(HttpStatusCode.Forbidden);
        var scrape = await SendAsync(HttpMethod.Get, "/metrics", admin);
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains("trainingservice_jobs{status=\"queued\"}", await scrape.Content.ReadAsStringAsync());
    }

    private static string SweepBody(string seeds, int maxConcurrent) =>
        $$"""{ "name": "owned", "base": { "architecture": "convnet", "hyperparameters": { "epochs": 1 } }, "grid": { "seed": [{{seeds}}] }, "maxConcurrent": {{maxConcurrent}} }""";

    private async Task<JsonNode> CreateSweepAsync(string key, string seeds, int maxConcurrent)
    {
        var response = await SendAsync(HttpMethod.Post, "/sweeps", key, SweepBody(seeds, maxConcurrent));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await response.ReadJsonAsync();
    }

    private async Task<List<string>> ListSweepsAsync(string key)
    {
        var response = await SendAsync(HttpMethod.Get, "/sweeps?limit=200", key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["items"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()).ToList();
    }

    private static List<Guid> PointJobs(JsonNode sweep) =>
        sweep["points"]!.AsArray().Where(p => p!["jobId"] is not null).Select(p => Guid.Parse(p!["jobId"]!.GetValue<string>())).ToList();

    [Fact]
    public async Task A_sweep_belongs_to_its_keys_name_with_its_jobs_and_another_owner_gets_404_while_an_admin_sees_it()
    {
        var (alice, aliceName) = await NewKeyAsync("alice");
        var (bob, _) = await NewKeyAsync("bob");
        var (admin, _) = await NewKeyAsync("admin", admin: true);
        await (await SendAsync(HttpMethod.Get, "/sweeps", null)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await SendAsync(HttpMethod.Post, "/sweeps", null, SweepBody("1", 1))).AssertProblemAsync(HttpStatusCode.Unauthorized);

        // Any key may start a sweep; it and its jobs are the key's name's.
        var sweep = await CreateSweepAsync(alice, "1, 2", maxConcurrent: 1);
        var id = sweep["id"]!.GetValue<string>();
        Assert.Equal(aliceName, sweep["owner"]!.GetValue<string>());
        var job = Assert.Single(PointJobs(sweep));
        Assert.Equal(aliceName, (await factory.Store.GetAsync(job, CancellationToken.None))!.Owner);
        Assert.Equal([job], await ListAsync(alice, $"sweep-{id}"));
        // A sweep from before authentication was turned on: no owner, for admins only. (Cancelled, so
        // the scheduler leaves it alone: this fixture's other tests count every job.)
        var seed = JsonSerializer.SerializeToElement(1);
        var ownerless = new SweepRecord
        {
            Id = Guid.NewGuid(), BaseJob = sweep["base"].Deserialize<JsonElement>(), Grid = [new SweepAxis("seed", [seed])],
            Points = [new Dictionary<string, JsonElement> { ["seed"] = seed }], MaxConcurrent = 1,
            CreatedAt = DateTimeOffset.UtcNow, CancelRequested = true, CancelledAt = DateTimeOffset.UtcNow,
        };
        await factory.Sweeps.CreateSweepAsync(ownerless, CancellationToken.None);

        // Bob hears what he would for sweeps that do not exist, and cannot cancel Alice's.
        foreach (var other in new[] { id, ownerless.Id.ToString() })
        {
            var problem = await (await SendAsync(HttpMethod.Get, $"/sweeps/{other}", bob)).AssertProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal($"There is no sweep {other}.", problem["detail"]!.GetValue<string>());
            await (await SendAsync(HttpMethod.Post, $"/sweeps/{other}/cancel", bob)).AssertProblemAsync(HttpStatusCode.NotFound);
        }
        Assert.DoesNotContain(id, await ListSweepsAsync(bob));
        Assert.DoesNotContain(ownerless.Id.ToString(), await ListSweepsAsync(bob));
        Assert.Empty(await ListAsync(bob, $"sweep-{id}"));
        await (await SendAsync(HttpMethod.Get, $"/jobs/{job}", bob)).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.False((await factory.Sweeps.GetSweepAsync(Guid.Parse(id), CancellationToken.None))!.CancelRequested);
        Assert.Equal(JobStatus.Queued, (await factory.Store.GetAsync(job, CancellationToken.None))!.Status);

        // Alice lists and reads her own (not the owner-less one); the admin sees both.
        Assert.Equal([id], await ListSweepsAsync(alice));
        await (await SendAsync(HttpMethod.Get, $"/sweeps/{ownerless.Id}", alice)).AssertProblemAsync(HttpStatusCode.NotFound);
        var asAdmin = await SendAsync(HttpMethod.Get, $"/sweeps/{id}", admin);
        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
        Assert.Equal(aliceName, (await asAdmin.ReadJsonAsync())["owner"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/sweeps/{ownerless.Id}", admin)).StatusCode);
        Assert.Contains(id, await ListSweepsAsync(admin));
        Assert.Contains(ownerless.Id.ToString(), await ListSweepsAsync(admin));

        // Her sweep's job is hers to cancel, and so is the sweep.
        var cancelledJob = await SendAsync(HttpMethod.Post, $"/jobs/{job}/cancel", alice);
        Assert.Equal(HttpStatusCode.OK, cancelledJob.StatusCode);
        var next = await WaitForAsync(async () =>
        {
            var current = await (await SendAsync(HttpMethod.Get, $"/sweeps/{id}", alice)).ReadJsonAsync();
            return PointJobs(current).Count == 2 ? current : null;
        }, $"sweep {id}'s second point to get a job once the first was cancelled");
        var cancelled = await SendAsync(HttpMethod.Post, $"/sweeps/{id}/cancel", alice);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal("cancelled", (await cancelled.ReadJsonAsync())["status"]!.GetValue<string>());
        Assert.Equal(JobStatus.Cancelled, (await factory.Store.GetAsync(PointJobs(next)[1], CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task A_sweep_never_takes_its_owner_past_the_unfinished_jobs_cap_and_its_waiting_points_go_out_as_jobs_end()
    {
        var (carol, carolName) = await NewKeyAsync("carol");
        var driver = new JobDriver(factory);

        // Four at a time asked for, two allowed: a concurrency above the cap is accepted, and the sweep runs two.
        var sweep = await CreateSweepAsync(carol, "1, 2, 3, 4", maxConcurrent: 4);
        var id = sweep["id"]!.GetValue<string>();
        Assert.Equal(Cap, PointJobs(sweep).Count);
        Assert.Equal("running", sweep["status"]!.GetValue<string>());
        // The sweep's jobs are hers and count toward her cap: a job of her own is refused now.
        await (await SendAsync(HttpMethod.Post, "/jobs", carol, TrainBody())).AssertProblemAsync(HttpStatusCode.TooManyRequests);
        await Task.Delay(TimeSpan.FromSeconds(1)); // several scheduler passes at the tests' 200 ms interval
        var waiting = await (await SendAsync(HttpMethod.Get, $"/sweeps/{id}", carol)).ReadJsonAsync();
        Assert.Equal(Cap, PointJobs(waiting).Count);
        Assert.Equal("running", waiting["status"]!.GetValue<string>());
        Assert.All(waiting["points"]!.AsArray().Where(p => p!["jobId"] is null), p => Assert.Null(p!["status"]));

        // As each job ends, the next point gets its job, and never more than the cap are unfinished.
        var finished = new HashSet<Guid>();
        while (finished.Count < 4)
        {
            var current = await WaitForAsync(async () =>
            {
                var s = await (await SendAsync(HttpMethod.Get, $"/sweeps/{id}", carol)).ReadJsonAsync();
                // Every point has a job, or the cap is full again.
                var jobs = PointJobs(s);
                return jobs.Count == 4 || jobs.Count - finished.Count >= Cap ? s : null;
            }, $"sweep {id} to fill the cap again");
            Assert.InRange(await factory.Store.CountUnfinishedJobsAsync(carolName, CancellationToken.None), 1, Cap);
            var next = PointJobs(current).First(j => !finished.Contains(j));
            await driver.SucceedAsync(next, 1);
            finished.Add(next);
        }

        var done = await WaitForAsync(async () =>
        {
            var s = await (await SendAsync(HttpMethod.Get, $"/sweeps/{id}", carol)).ReadJsonAsync();
            return s["status"]!.GetValue<string>() == "succeeded" ? s : null;
        }, $"sweep {id} to succeed");
        var jobs = new List<JobRecord>();
        foreach (var jobId in PointJobs(done))
            jobs.Add((await factory.Store.GetAsync(jobId, CancellationToken.None))!);
        Assert.Equal(4, jobs.Count);
        Assert.All(jobs, j => Assert.Equal(carolName, j.Owner));
        Assert.Equal(4, (await ListAsync(carol, $"sweep-{id}")).Count);
        // Over the whole run, from each job's creation to its end: at most the cap unfinished at any moment
        // (at a shared instant an end comes before a creation: the scheduler counts only after the end is stored).
        var events = jobs.SelectMany(j => new[] { (At: j.CreatedAt, Change: +1), (At: j.FinishedAt!.Value, Change: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Change);
        var open = 0;
        foreach (var (_, change) in events)
        {
            open += change;
            Assert.InRange(open, 0, Cap);
        }
    }

    /// <summary>Polls <paramref name="probe"/> until it gives a value; fails after two minutes, saying what it waited for.</summary>
    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, string what) where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            if (await probe() is { } value)
                return value;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Waited two minutes for {what}.");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Unknown_malformed_and_revoked_keys_are_refused_with_invalid_token()
    {
        var (key, name) = await NewKeyAsync("revoked");
        var keys = factory.Services.GetRequiredService<IApiKeyStore>();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/jobs", key)).StatusCode);
        var record = (await keys.ListApiKeysAsync(CancellationToken.None)).Single(k => k.Name == name);
        Assert.True(await keys.RevokeApiKeyAsync(record.Id, DateTimeOffset.UtcNow, CancellationToken.None));

        foreach (var presented in new[] { key, ApiKeys.Generate(), "not a key", new string('k', 5000) })
        {
            var response = await SendAsync(HttpMethod.Get, "/jobs", presented, asBearer: false);
            var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
            Assert.Contains("not valid", problem["detail"]!.GetValue<string>());
        }

        var (other, _) = await NewKeyAsync("other");
        var request = new HttpRequestMessage(HttpMethod.Get, "/jobs");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", other);
        request.Headers.Add("X-Api-Key", ApiKeys.Generate());
        var conflicting = await client.SendAsync(request);
        Assert.Contains("different keys", (await conflicting.AssertProblemAsync(HttpStatusCode.Unauthorized))["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_job_belongs_to_its_keys_name_and_another_owner_gets_404_everywhere_while_an_admin_sees_it()
    {
        var tag = "own" + Guid.NewGuid().ToString("N")[..10];
        var (alice, aliceName) = await NewKeyAsync("alice");
        var (bob, _) = await NewKeyAsync("bob");
        var (admin, _) = await NewKeyAsync("admin", admin: true);
        var alicesJob = await SubmitAsync(alice, TrainBody(tag));
        var bobsJob = await SubmitAsync(bob, TrainBody(tag));
        // A job from before authentication was turned on: no owner, for admins only.
        var ownerless = (await factory.Store.CreateAsync(new JobRecord
        {
            Id = Guid.NewGuid(), Kind = JobKind.Train, Architecture = "convnet", Tags = [tag],
            Hyperparameters = ArchitectureCatalog.ConvNet.Defaults with { Epochs = 1 }, CreatedAt = DateTimeOffset.UtcNow,
        }, CancellationToken.None)).Job.Id;

        Assert.Equal(aliceName, (await factory.Store.GetAsync(alicesJob, CancellationToken.None))!.Owner);
        Assert.Equal(aliceName, (await (await SendAsync(HttpMethod.Get, $"/jobs/{alicesJob}", alice)).ReadJsonAsync())["owner"]!.GetValue<string>());
        Assert.Equal([alicesJob], await ListAsync(alice, tag));
        Assert.Equal([bobsJob], await ListAsync(bob, tag));
        Assert.Equal(new[] { ownerless, bobsJob, alicesJob }.Order(), (await ListAsync(admin, tag)).Order());

        // Bob, asking for Alice's job, hears what he would for a job that does not exist.
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, ""), (HttpMethod.Get, "/metrics"), (HttpMethod.Get, "/checkpoints"), (HttpMethod.Get, "/checkpoints/final"),
            (HttpMethod.Get, "/checkpoints/final/manifest"), (HttpMethod.Get, "/logs"), (HttpMethod.Post, "/cancel"),
        })
        {
            var problem = await (await SendAsync(method, $"/jobs/{alicesJob}{path}", bob)).AssertProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal($"There is no job '{alicesJob}'.", problem["detail"]!.GetValue<string>());
            await (await SendAsync(method, $"/jobs/{ownerless}{path}", bob)).AssertProblemAsync(HttpStatusCode.NotFound);
        }
        Assert.Equal(JobStatus.Queued, (await factory.Store.GetAsync(alicesJob, CancellationToken.None))!.Status);

        // Alice reads her own with either header; the admin reads and cancels anyone's.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/jobs/{alicesJob}", alice, asBearer: false)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/jobs/{ownerless}", admin)).StatusCode);
        var cancelled = await SendAsync(HttpMethod.Post, $"/jobs/{bobsJob}/cancel", admin);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal("cancelled", (await cancelled.ReadJsonAsync())["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Workers_are_listed_to_anyone_but_a_running_jobs_id_only_to_its_owner_and_admins()
    {
        var (alice, _) = await NewKeyAsync("alice");
        var (bob, _) = await NewKeyAsync("bob");
        var (admin, _) = await NewKeyAsync("admin", admin: true);
        var alicesJob = await SubmitAsync(alice);
        var workerId = "security-worker-" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        await factory.Workers.UpsertWorkerAsync(new WorkerRecord(workerId, "host-1", ["cpu"], "cpu", alicesJob, now, now), CancellationToken.None);
        try
        {
            async Task<JsonNode?> RunningJobSeenBy(string? key)
            {
                var response = await SendAsync(HttpMethod.Get, "/workers", key);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var listed = (await response.ReadJsonAsync()).AsArray().Single(w => w!["id"]!.GetValue<string>() == workerId)!;
                return listed["runningJobId"];
            }

            Assert.Equal(alicesJob.ToString(), (await RunningJobSeenBy(alice))?.GetValue<string>());
            Assert.Equal(alicesJob.ToString(), (await RunningJobSeenBy(admin))?.GetValue<string>());
            Assert.Null(await RunningJobSeenBy(bob));
            Assert.Null(await RunningJobSeenBy(null));
        }
        finally
        {
            await factory.Workers.RemoveWorkerAsync(workerId, CancellationToken.None);
        }
    }

    [Fact]
    public async Task An_eval_of_another_owners_job_reads_as_a_missing_source_and_idempotency_keys_are_per_owner()
    {
        var (alice, _) = await NewKeyAsync("alice");
        var (bob, _) = await NewKeyAsync("bob");
        var alicesJob = await SubmitAsync(alice);

        var eval = await SendAsync(HttpMethod.Post, "/jobs", bob,
            $$"""{ "kind": "eval", "source": { "jobId": "{{alicesJob}}", "checkpoint": "final" } }""");
        var errors = await eval.AssertValidationProblemAsync();
        Assert.Equal([$"There is no job {alicesJob}."], errors["source.jobId"]);

        var key = "shared-" + Guid.NewGuid().ToString("N");
        var first = await SendAsync(HttpMethod.Post, "/jobs", alice, TrainBody(), idempotencyKey: key);
        var second = await SendAsync(HttpMethod.Post, "/jobs", bob, TrainBody(), idempotencyKey: key);
        var again = await SendAsync(HttpMethod.Post, "/jobs", alice, TrainBody(), idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var firstId = (await first.ReadJsonAsync())["id"]!.GetValue<string>();
        Assert.NotEqual(firstId, (await second.ReadJsonAsync())["id"]!.GetValue<string>());
        Assert.Equal(firstId, (await again.ReadJsonAsync())["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Submissions_beyond_the_cap_on_unfinished_jobs_get_429_naming_the_limit_until_one_ends()
    {
        var (key, _) = await NewKeyAsync("capped");
        var jobs = new List<Guid>();
        for (var i = 0; i < Cap; i++)
            jobs.Add(await SubmitAsync(key));
        var stored = (await factory.Store.ListAsync(new JobQuery(Limit: 10_000), CancellationToken.None)).Count;

        var refused = await SendAsync(HttpMethod.Post, "/jobs", key, TrainBody());

        var problem = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("Too many unfinished jobs", problem["title"]!.GetValue<string>());
        Assert.Equal("Limits:MaxUnfinishedJobsPerKey", problem["limit"]!.GetValue<string>());
        Assert.Equal(Cap, problem["maxUnfinishedJobs"]!.GetValue<int>());
        Assert.Equal(stored, (await factory.Store.ListAsync(new JobQuery(Limit: 10_000), CancellationToken.None)).Count);

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, $"/jobs/{jobs[0]}/cancel", key)).StatusCode);
        await SubmitAsync(key);
    }

    [Fact]
    public async Task Submissions_beyond_the_rate_limit_get_429_with_Retry_After_per_key()
    {
        var (key, _) = await NewKeyAsync("rated");
        var (other, _) = await NewKeyAsync("unrated");
        // Bad bodies: they count against the limit like any request, and store nothing.
        for (var i = 0; i < RateLimit; i++)
            await (await SendAsync(HttpMethod.Post, "/jobs", key, "{}")).AssertValidationProblemAsync();

        var limited = await SendAsync(HttpMethod.Post, "/jobs", key, TrainBody());

        var problem = await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("Limits:SubmissionsPerWindow", problem["limit"]!.GetValue<string>());
        var retryAfter = int.Parse(limited.Header("Retry-After"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 3600);
        // Reading is not limited, and another key has its own allowance.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/jobs", key)).StatusCode);
        await SubmitAsync(other);
    }

    [Fact]
    public async Task Sweeps_count_against_the_same_submission_rate_as_jobs()
    {
        var (user, _) = await NewKeyAsync("sweeper");
        for (var i = 0; i < RateLimit; i++)
            await (await SendAsync(HttpMethod.Post, "/sweeps", user, "{}")).AssertValidationProblemAsync();

        var problem = await (await SendAsync(HttpMethod.Post, "/sweeps", user, "{}")).AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("Limits:SubmissionsPerWindow", problem["limit"]!.GetValue<string>());
        await (await SendAsync(HttpMethod.Post, "/jobs", user, TrainBody())).AssertProblemAsync(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task Answers_carry_security_headers_and_swagger_ui_still_gets_a_policy_that_lets_it_run()
    {
        var (key, _) = await NewKeyAsync("headers");
        foreach (var response in new[]
        {
            await SendAsync(HttpMethod.Get, "/jobs", key),
            await SendAsync(HttpMethod.Get, "/jobs", null),
            await client.GetAsync("/no/such/thing"),
            await client.GetAsync("/architectures"),
        })
        {
            Assert.Equal("nosniff", response.Header("X-Content-Type-Options"));
            Assert.Equal("DENY", response.Header("X-Frame-Options"));
            Assert.Equal("no-referrer", response.Header("Referrer-Policy"));
            Assert.Contains("default-src 'none'", response.Header("Content-Security-Policy"));
        }

        var ui = await client.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        var policy = ui.Header("Content-Security-Policy");
        Assert.Contains("script-src 'self' 'unsafe-inline'", policy);
        Assert.Contains("frame-ancestors 'none'", policy);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/jobs/0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")]
    public async Task The_web_dashboards_page_loads_without_a_key_with_a_policy_that_lets_it_run_while_its_api_calls_need_one(string path)
    {
        var page = new HttpRequestMessage(HttpMethod.Get, path);
        page.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");

        var response = await client.SendAsync(page);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self' 'unsafe-inline'", response.Header("Content-Security-Policy"));
        Assert.Contains("connect-src 'self'", response.Header("Content-Security-Policy"));
        Assert.Equal("DENY", response.Header("X-Frame-Options"));
        var script = await client.GetAsync("/dashboard/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("nosniff", script.Header("X-Content-Type-Options"));
        await (await SendAsync(HttpMethod.Get, path == "/" ? "/jobs" : path, null)).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_openapi_document_offers_the_api_key_scheme_on_the_jobs_operations()
    {
        var document = await (await client.GetAsync("/swagger/v1/swagger.json")).ReadJsonAsync();

        var scheme = document["components"]!["securitySchemes"]!["ApiKey"]!;
        Assert.Equal("apiKey", scheme["type"]!.GetValue<string>());
        Assert.Equal("X-Api-Key", scheme["name"]!.GetValue<string>());
        Assert.NotNull(document["paths"]!["/jobs"]!["post"]!["security"]);
        Assert.NotNull(document["paths"]!["/jobs"]!["post"]!["responses"]!["401"]);
        Assert.Null(document["paths"]!["/architectures"]!["get"]!["security"]);
    }

    [Fact]
    public async Task The_dashboard_from_another_machine_needs_an_admin_key()
    {
        var (user, _) = await NewKeyAsync("user");
        var (admin, _) = await NewKeyAsync("admin", admin: true);

        // The in-memory server's requests have no client address: to Hangfire they are not local.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/hangfire", null)).StatusCode);
        Assert.True((await SendAsync(HttpMethod.Get, "/hangfire", user)).StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized);
        var dashboard = await SendAsync(HttpMethod.Get, "/hangfire", admin);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("script-src 'self' 'unsafe-inline'", dashboard.Header("Content-Security-Policy"));
    }
}

/// <summary>The security tests' service settings: authentication on (also on SQLite), remote dashboard allowed, small limits.</summary>
internal static class SecuredSettings
{
    public static IReadOnlyDictionary<string, string?> Values { get; } = new Dictionary<string, string?>
    {
        ["Auth:Enabled"] = "true",
        ["Dashboard:AllowRemote"] = "true",
        ["Limits:SubmissionsPerWindow"] = "5",
        ["Limits:SubmissionWindow"] = "01:00:00",
        ["Limits:MaxUnfinishedJobsPerKey"] = "2",
        ["Auth:BootstrapAdminKey"] = SecurityTests.BootstrapAdminKey,
        ["Auth:BootstrapAdminName"] = "bootstrap-admin",
    };
}

public sealed class SecuredSqliteApiFactory : SqliteApiFactory
{
    protected override IReadOnlyDictionary<string, string?> ServiceSettings => SecuredSettings.Values;
}

public sealed class SecuredPostgresApiFactory : PostgresApiFactory
{
    protected override IReadOnlyDictionary<string, string?> ServiceSettings => SecuredSettings.Values;
}

public sealed class SqliteSecurityTests(SecuredSqliteApiFactory factory) : SecurityTests(factory), IClassFixture<SecuredSqliteApiFactory>;

public sealed class PostgresSecurityTests(SecuredPostgresApiFactory factory) : SecurityTests(factory), IClassFixture<SecuredPostgresApiFactory>;
