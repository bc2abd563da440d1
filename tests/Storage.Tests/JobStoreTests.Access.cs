using TrainingService.Contracts.Access;
using TrainingService.Contracts.Training;
using TrainingService.Contracts;

namespace TrainingService.Storage.Tests;

/// <summary>Migration 2 on each engine: job owners, the owner filter, the per-owner count, and API keys.</summary>
public abstract partial class JobStoreTests
{
    private static JobRecord OwnedJob(string? owner, DateTimeOffset createdAt, JobStatus status = JobStatus.Queued) => new()
    {
        Id = Guid.NewGuid(),
        Kind = JobKind.Train,
        Architecture = "convnet",
        Status = status,
        Hyperparameters = new Hyperparameters { Epochs = 2 },
        CreatedAt = createdAt,
        Owner = owner,
    };

    [Fact]
    public async Task A_job_keeps_its_owner_and_a_job_without_one_reads_back_null()
    {
        var owned = await CreateAsync(OwnedJob("alice", T0));
        var anonymous = await CreateAsync(OwnedJob(null, T0.AddSeconds(1)));

        Assert.Equal("alice", (await GetAsync(owned.Id)).Owner);
        Assert.Null((await GetAsync(anonymous.Id)).Owner);
    }

    [Fact]
    public async Task Listing_by_owner_returns_only_that_owners_jobs_newest_first()
    {
        var alice1 = await CreateAsync(OwnedJob("alice", T0));
        await CreateAsync(OwnedJob("bob", T0.AddSeconds(1)));
        var alice2 = await CreateAsync(OwnedJob("alice", T0.AddSeconds(2)));
        await CreateAsync(OwnedJob(null, T0.AddSeconds(3)));

        var alices = await Store.ListAsync(new JobQuery(Owner: "alice"), None);
        var everyone = await Store.ListAsync(new JobQuery(), None);

        Assert.Equal([alice2.Id, alice1.Id], alices.Select(j => j.Id));
        Assert.Equal(4, everyone.Count);
        Assert.Empty(await Store.ListAsync(new JobQuery(Owner: "carol"), None));
    }

    [Fact]
    public async Task Counting_unfinished_jobs_counts_only_that_owners_queued_running_cancelling_and_interrupted_jobs()
    {
        foreach (var status in Enum.GetValues<JobStatus>())
            await CreateAsync(OwnedJob("alice", T0, status));
        await CreateAsync(OwnedJob("bob", T0));
        await CreateAsync(OwnedJob(null, T0));

        Assert.Equal(4, await Store.CountUnfinishedJobsAsync("alice", None));
        Assert.Equal(1, await Store.CountUnfinishedJobsAsync("bob", None));
        Assert.Equal(0, await Store.CountUnfinishedJobsAsync("carol", None));
    }

    [Fact]
    public async Task Whether_an_idempotency_key_was_used_is_answered_exactly()
    {
        await CreateAsync(OwnedJob("alice", T0) with { IdempotencyKey = "alice\u001fretry-1" });

        Assert.True(await Store.IdempotencyKeyUsedAsync("alice\u001fretry-1", None));
        Assert.False(await Store.IdempotencyKeyUsedAsync("retry-1", None));
        Assert.False(await Store.IdempotencyKeyUsedAsync("bob\u001fretry-1", None));
    }

    [Fact]
    public async Task An_api_key_is_found_by_its_hash_only_and_never_stores_the_key()
    {
        var (record, key) = ApiKeys.Create("alice", isAdmin: true, T0);

        await Keys.CreateApiKeyAsync(record, None);

        Assert.Equal(record, await Keys.FindApiKeyAsync(ApiKeys.Hash(key), None));
        Assert.Null(await Keys.FindApiKeyAsync(key, None));
        Assert.Null(await Keys.FindApiKeyAsync(ApiKeys.Hash(key + "x"), None));
        Assert.DoesNotContain(key, (await Keys.ListApiKeysAsync(None)).Select(k => k.KeySha256));
        Assert.StartsWith(ApiKeys.Prefix, key);
        Assert.Equal(64, record.KeySha256.Length);
    }

    [Fact]
    public async Task Keys_list_oldest_first_and_a_revoked_key_stays_listed_with_its_revocation_time()
    {
        var (first, _) = ApiKeys.Create("alice", isAdmin: false, T0);
        var (second, secondKey) = ApiKeys.Create("bob", isAdmin: false, T0.AddMinutes(1));
        await Keys.CreateApiKeyAsync(second, None);
        await Keys.CreateApiKeyAsync(first, None);

        Assert.True(await Keys.RevokeApiKeyAsync(second.Id, T0.AddHours(1), None));
        Assert.False(await Keys.RevokeApiKeyAsync(second.Id, T0.AddHours(2), None));
        Assert.False(await Keys.RevokeApiKeyAsync(Guid.NewGuid(), T0.AddHours(2), None));

        var keys = await Keys.ListApiKeysAsync(None);
        Assert.Equal([first.Id, second.Id], keys.Select(k => k.Id));
        var revoked = await Keys.FindApiKeyAsync(ApiKeys.Hash(secondKey), None);
        Assert.Equal(T0.AddHours(1), revoked!.RevokedAt);
        Assert.True(revoked.IsRevoked);
        Assert.False(keys[0].IsRevoked);
    }

    [Fact]
    public async Task Two_keys_with_the_same_hash_cannot_both_be_stored()
    {
        var (record, _) = ApiKeys.Create("alice", isAdmin: false, T0);
        await Keys.CreateApiKeyAsync(record, None);

        await Assert.ThrowsAnyAsync<Exception>(() => Keys.CreateApiKeyAsync(record with { Id = Guid.NewGuid() }, None));
        Assert.Single(await Keys.ListApiKeysAsync(None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("tab\tname")]
    public void A_key_needs_a_printable_name(string name) =>
        Assert.Throws<ArgumentException>(() => ApiKeys.Create(name, isAdmin: false, T0));
}
